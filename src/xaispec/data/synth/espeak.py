"""espeak-ng through :mod:`ctypes`: one utterance in, float samples out.

The ``libespeak-ng`` and its data come from the ``espeakng-loader`` wheel. The library
is loaded and initialised (synchronous mode, output collected by a callback) on the
first call of :func:`speak` or :func:`espeak_info`, once per process; a forked child
loads its own.
"""
from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

import numpy as np

from ...errors import DataError, ParameterError

__all__ = ["PITCH_RANGE", "RANGE_RANGE", "RATE_RANGE", "VOLUME_RANGE", "espeak_info", "speak"]


# from espeak-ng's speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_espeakCHARS_AUTO = 0
_EE_OK = 0
_espeakRATE, _espeakVOLUME, _espeakPITCH, _espeakRANGE = 1, 2, 3, 4

#: valid values of :func:`speak`'s parameters (closed intervals)
RATE_RANGE = (80, 450)      # words per minute
PITCH_RANGE = (0, 100)      # 50 = the voice's normal base pitch
RANGE_RANGE = (0, 100)      # 0 = monotone, 50 = normal
VOLUME_RANGE = (0, 200)     # 100 = normal; above it espeak-ng compresses and clips

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Espeak:
    """One initialised ``libespeak-ng`` in synchronous mode (one per process)."""

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise DataError(f"espeakng-loader is not installed ({exc}); it ships libespeak-ng") from exc
        lib_path = espeakng_loader.get_library_path()
        self.data_path = Path(espeakng_loader.get_data_path())
        try:
            lib = ctypes.CDLL(lib_path)
        except OSError as exc:
            raise DataError(f"cannot load libespeak-ng from {lib_path}: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p

        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(), 0)
        if rate <= 0:
            raise DataError(f"espeak_Initialize failed ({rate}) with data at {self.data_path}")
        self.lib = lib
        self.sample_rate = int(rate)
        self.version = (lib.espeak_Info(None) or b"unknown").decode("utf-8", "replace")
        self.variants = frozenset(p.name for p in (self.data_path / "voices" / "!v").iterdir())
        self._chunks: list[np.ndarray] = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()

    def _collect(self, wav, n, events) -> int:
        """espeak-ng's synthesis callback: keep a copy of each chunk of samples."""
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def synth(self, text: str, voice: str, params: dict[int, int]) -> np.ndarray:
        """int16 samples of ``text``; ``voice`` and ``params`` are already validated."""
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise ParameterError(f"espeak-ng has no voice {voice!r}")
            for key, value in params.items():  # after the voice: they persist across voices
                self.lib.espeak_SetParameter(key, int(value), 0)
            self._chunks = []
            data = text.encode("utf-8")
            err = self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _espeakCHARS_AUTO, None, None)
            self.lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        if err != _EE_OK:
            raise DataError(f"espeak_Synth failed with code {err} for text {text!r}")
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


_ENGINE: _Espeak | None = None
_ENGINE_PID: int | None = None
_ENGINE_LOCK = threading.Lock()


def get_engine() -> _Espeak:
    """The process's espeak-ng, initialised on first use."""
    global _ENGINE, _ENGINE_PID
    with _ENGINE_LOCK:
        if _ENGINE is None or _ENGINE_PID != os.getpid():
            _ENGINE = _Espeak()
            _ENGINE_PID = os.getpid()
        return _ENGINE


def espeak_info() -> dict:
    """Version and output sample rate of the espeak-ng in use (loads it).

    Returns
    -------
    info : dict
        ``{"version": str, "sample_rate": int}``
    """
    engine = get_engine()
    return {"version": engine.version, "sample_rate": engine.sample_rate}


def _check_number(name: str, value, bounds: tuple[float, float]) -> None:
    """Refuse a value that is not a number in the closed interval ``bounds``."""
    lo, hi = bounds
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")
    if not (lo <= value <= hi):
        raise ParameterError(f"{name} must be in [{lo}, {hi}], got {value!r}")


def _check_voice(voice, engine: _Espeak) -> None:
    """Refuse a voice that is not ``language[+variant]`` with a variant espeak-ng has."""
    if not isinstance(voice, str) or not voice.strip():
        raise ParameterError(f"voice must be a non-empty string like 'en-us+f3', got {voice!r}")
    language, _, variant = voice.partition("+")
    if not language:
        raise ParameterError(f"voice {voice!r} names no language (like 'en-us+f3')")
    if variant and variant not in engine.variants:
        raise ParameterError(
            f"voice {voice!r}: espeak-ng has no variant {variant!r} (see espeak-ng-data/voices/!v)"
        )


def speak(
    text: str,
    *,
    voice: str = "en-us",
    rate: float = 175,
    pitch: float = 50,
    pitch_range: float = 50,
    volume: float = 100,
) -> tuple[np.ndarray, int]:
    """Speak one utterance with espeak-ng.

    Parameters
    ----------
    text : str
        What to say (plain text; a final ``?`` or ``!`` changes the intonation).
    voice : str
        espeak-ng voice: a language, optionally ``+`` a variant, e.g. ``"en-us+f3"``,
        ``"en+m2"``, ``"en-gb-scotland+Andrea"``.
    rate : float
        Speaking rate in words per minute, 80..450 (rounded).
    pitch : float
        Base pitch, 0..100; 50 is the voice's normal pitch.
    pitch_range : float
        Pitch range, 0..100; 0 is monotone, 50 normal.
    volume : float
        Loudness, 0..200; 100 is normal, louder values compress and clip.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono samples in [-1, 1], including espeak-ng's short leading and trailing silence.
    sr : int
        Their sample rate (espeak-ng's, 22050 Hz).

    Raises
    ------
    ParameterError
        For an empty text, an unknown voice or a parameter out of range.
    DataError
        When espeak-ng cannot be loaded or returns no audio.

    Examples
    --------
    >>> y, sr = speak("seven", voice="en-us+f3", rate=160)  # doctest: +SKIP
    """
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(f"text must be a non-empty string, got {text!r}")
    _check_number("rate", rate, RATE_RANGE)
    _check_number("pitch", pitch, PITCH_RANGE)
    _check_number("pitch_range", pitch_range, RANGE_RANGE)
    _check_number("volume", volume, VOLUME_RANGE)
    engine = get_engine()
    _check_voice(voice, engine)
    params = {
        _espeakRATE: round(rate),
        _espeakVOLUME: round(volume),
        _espeakPITCH: round(pitch),
        _espeakRANGE: round(pitch_range),
    }
    samples = engine.synth(text, voice, params)
    if samples.size == 0:
        raise DataError(f"espeak-ng returned no audio for text {text!r} with voice {voice!r}")
    return (samples.astype(np.float32) / 32768.0), engine.sample_rate
