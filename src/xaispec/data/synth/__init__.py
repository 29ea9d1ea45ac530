"""Offline synthetic speech corpora spoken by espeak-ng.

Two corpora stand in for the recorded ones when nothing may be downloaded:

* :func:`synthesize_digits` -- spoken digits in the layout of AudioMNIST
  (``data/NN/{digit}_{NN}_{rep}.wav`` and ``data/audioMNIST_meta.txt``);
* :func:`synthesize_emotions` -- two statements in eight emotions in the layout of
  RAVDESS (``Actor_NN/03-01-EE-II-SS-RR-AA.wav``).

Speech comes from the ``libespeak-ng`` shipped by the ``espeakng-loader`` wheel,
driven through :mod:`ctypes` (:func:`speak`). Every speaker is a distinct voice: an
espeak-ng voice variant of the speaker's gender in one of several English accents,
with its own base pitch, pitch range, speaking rate, loudness and recording noise,
all drawn deterministically from ``seed`` and the speaker id. Every take varies those
a little more, again deterministically.

espeak-ng's output is not bit-identical from one call to the next, so a corpus is
synthesized once and stored with a ``manifest.json`` that records every synthesis
parameter and the SHA-256 of every file. Calling a synthesizer again on the same
folder reuses a complete corpus, finishes an interrupted one, and refuses one made
with other parameters unless ``force=True``.

Nothing happens at import time: the library is loaded on first use, once per process.
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..._io import atomic_path, exchange, sha256_file, write_json_atomic
from ...errors import CorpusMismatch, DataError, ParameterError
from ...events import EventLog
from ..corpora import AUDIOMNIST_FEMALE

__all__ = [
    "DIGIT_WORDS",
    "EMOTIONS",
    "FEMALE_PARTICIPANTS",
    "STATEMENTS",
    "audiomnist_meta",
    "espeak_info",
    "emotion_prosody",
    "participant_gender",
    "speak",
    "synthesize_digits",
    "synthesize_emotions",
]

logger = logging.getLogger(__name__)

#: English words of the digits 0..9, as spoken in the digits corpus
DIGIT_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)

#: RAVDESS emotion codes and names
EMOTIONS: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}

#: RAVDESS statement codes and texts
STATEMENTS: dict[str, str] = {
    "01": "Kids are talking by the door",
    "02": "Dogs are sitting by the door",
}

#: AudioMNIST's female participants (defined with the corpus); all others are male
FEMALE_PARTICIPANTS: frozenset[int] = AUDIOMNIST_FEMALE

#: bumped whenever a change here would make a stored corpus differ from a new one
GENERATOR_VERSION = 1

#: AudioMNIST participant ids are 01..60
MAX_PARTICIPANTS = 60
#: ``Actor_NN`` and the ``AA`` field have two digits
MAX_ACTORS = 98

# ---------------------------------------------------------------------------------
# espeak-ng through ctypes
# ---------------------------------------------------------------------------------

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


def _engine() -> _Espeak:
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
    engine = _engine()
    return {"version": engine.version, "sample_rate": engine.sample_rate}


def _check_number(name: str, value, bounds: tuple[float, float]) -> None:
    lo, hi = bounds
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")
    if not (lo <= value <= hi):
        raise ParameterError(f"{name} must be in [{lo}, {hi}], got {value!r}")


def _check_voice(voice, engine: _Espeak) -> None:
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
    engine = _engine()
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


# ---------------------------------------------------------------------------------
# speakers and takes
# ---------------------------------------------------------------------------------

#: espeak-ng variants that sound like ordinary female / male voices (no robots, echoes, whispers)
FEMALE_VARIANTS: tuple[str, ...] = (
    "f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "anika", "aunty",
    "belinda", "linda", "steph", "steph2",
)
MALE_VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "Andy", "Denis", "Diogo", "Henrique",
    "Marco", "antonio", "michel", "miguel", "travis", "victor",
)
#: espeak-ng English languages, the accent written to the meta data, and how often each is drawn
ACCENTS: tuple[tuple[str, str, float], ...] = (
    ("en-us", "american", 0.35),
    ("en", "british", 0.25),
    ("en-gb-x-rp", "received pronunciation", 0.08),
    ("en-gb-scotland", "scottish", 0.08),
    ("en-gb-x-gbclan", "lancashire", 0.06),
    ("en-gb-x-gbcwmd", "west midlands", 0.06),
    ("en-us-nyc", "new york", 0.06),
    ("en-029", "caribbean", 0.06),
)
_ORIGINS = {
    "en-us": "America, USA", "en": "Europe, United Kingdom", "en-gb-x-rp": "Europe, United Kingdom, England",
    "en-gb-scotland": "Europe, United Kingdom, Scotland", "en-gb-x-gbclan": "Europe, United Kingdom, Lancaster",
    "en-gb-x-gbcwmd": "Europe, United Kingdom, Birmingham", "en-us-nyc": "America, USA, New York",
    "en-029": "America, Caribbean, Jamaica",
}

# salt of the speaker streams, so that digit speakers and emotion actors differ
_DIGITS_TAG, _EMOTIONS_TAG = 1, 2


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: one voice with its own prosody and recording conditions.

    Attributes
    ----------
    id : int
        Participant or actor id.
    gender : str
        ``"male"`` or ``"female"``.
    language : str
        espeak-ng language (the accent), e.g. ``"en-us"``.
    accent : str
        The accent's name.
    variant : str
        espeak-ng voice variant of the speaker's gender.
    pitch, pitch_range, rate, volume : float
        The speaker's base values of :func:`speak`'s parameters.
    amplitude : float
        Linear gain applied to espeak-ng's output.
    noise_db : float
        Level of the recording noise in dB relative to full scale (standard deviation).
    age : int
        Age written to the meta data.
    """

    id: int
    gender: str
    language: str
    accent: str
    variant: str
    pitch: float
    pitch_range: float
    rate: float
    volume: float
    amplitude: float
    noise_db: float
    age: int

    @property
    def voice(self) -> str:
        """The espeak-ng voice name, ``language+variant``."""
        return f"{self.language}+{self.variant}"


def participant_gender(participant: int) -> str:
    """Gender of an AudioMNIST participant id.

    Parameters
    ----------
    participant : int
        Participant id, 1..60.

    Returns
    -------
    gender : str
        ``"female"`` for the ids in :data:`FEMALE_PARTICIPANTS`, ``"male"`` otherwise.
    """
    _check_id("participant", participant, MAX_PARTICIPANTS)
    return "female" if participant in FEMALE_PARTICIPANTS else "male"


def _actor_gender(actor: int) -> str:
    """RAVDESS convention: odd actors are male, even ones female."""
    return "male" if actor % 2 else "female"


def _check_id(name: str, value, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= maximum:
        raise ParameterError(f"{name} id must be an integer in [1, {maximum}], got {value!r}")


def _make_speaker(seed: int, tag: int, speaker_id: int, gender: str, rank: int) -> Speaker:
    """Draw a speaker deterministically from ``(seed, tag, speaker_id)``.

    ``rank`` (the speaker's index among the speakers of its gender) picks the variant
    from a seed-shuffled pool, so that consecutive speakers of a gender differ in voice.
    """
    pool = FEMALE_VARIANTS if gender == "female" else MALE_VARIANTS
    order = np.random.default_rng([seed, tag, 0]).permutation(len(pool))
    variant = pool[int(order[rank % len(pool)])]
    rng = np.random.default_rng([seed, tag, speaker_id])
    weights = np.array([w for _, _, w in ACCENTS])
    language, accent, _ = ACCENTS[int(rng.choice(len(ACCENTS), p=weights / weights.sum()))]
    return Speaker(
        id=speaker_id,
        gender=gender,
        language=language,
        accent=accent,
        variant=variant,
        pitch=round(float(rng.uniform(32, 68)), 2),
        pitch_range=round(float(rng.uniform(35, 75)), 2),
        rate=round(float(rng.uniform(145, 205)), 2),
        volume=round(float(rng.uniform(85, 105)), 2),
        amplitude=round(float(rng.uniform(0.55, 0.95)), 4),
        noise_db=round(float(rng.uniform(-68, -54)), 2),
        age=int(rng.integers(20, 62)),
    )


def _digit_speaker(seed: int, participant: int) -> Speaker:
    gender = participant_gender(participant)
    rank = sum(participant_gender(p) == gender for p in range(1, participant))
    return _make_speaker(seed, _DIGITS_TAG, participant, gender, rank)


def _actor_speaker(seed: int, actor: int) -> Speaker:
    return _make_speaker(seed, _EMOTIONS_TAG, actor, _actor_gender(actor), (actor - 1) // 2)


def audiomnist_meta(participants: int = 60, *, seed: int = 0, participant_ids: Sequence[int] | None = None) -> dict:
    """AudioMNIST-style meta data of the synthetic digit speakers.

    Parameters
    ----------
    participants : int
        Number of participants, ids ``1..participants`` (at most 60).
    seed : int
        Seed of the speakers (as in :func:`synthesize_digits`).
    participant_ids : sequence of int, optional
        Only these participants (each in ``1..participants``).

    Returns
    -------
    meta : dict
        Keyed by the zero-padded id (``"01"``...), each with the fields of
        ``audioMNIST_meta.txt``: ``accent``, ``age`` (str), ``gender``, ``native speaker``,
        ``origin``, ``recordingdate``, ``recordingroom``.
    """
    ids = _resolve_ids("participant", participants, participant_ids, MAX_PARTICIPANTS)
    _check_seed(seed)
    return {f"{p:02d}": _meta_entry(_digit_speaker(seed, p), seed) for p in ids}


def _meta_entry(speaker: Speaker, seed: int) -> dict:
    rng = np.random.default_rng([seed, _DIGITS_TAG, speaker.id, 1])
    stamp = (17, int(rng.integers(6, 13)), int(rng.integers(1, 29)), int(rng.integers(8, 19)),
             int(rng.integers(0, 60)), int(rng.integers(0, 60)))
    return {
        "accent": speaker.accent,
        "age": str(speaker.age),
        "gender": speaker.gender,
        "native speaker": "yes",
        "origin": f"{_ORIGINS[speaker.language]} (synthetic, espeak-ng {speaker.voice})",
        "recordingdate": "-".join(f"{v:02d}" for v in stamp),
        "recordingroom": "synthetic",
    }


@dataclass(frozen=True)
class Take:
    """Everything that makes one file: what is said, how, and where it goes.

    ``noise_seed`` seeds the generator of the file's additive noise.
    """

    path: str
    text: str
    speaker: int
    voice: str
    rate: float
    pitch: float
    pitch_range: float
    volume: float
    amplitude: float
    noise_std: float
    noise_seed: tuple[int, ...]
    labels: dict


def _clip(value: float, bounds: tuple[float, float]) -> float:
    return float(min(max(value, bounds[0]), bounds[1]))


def _take(path: str, text: str, speaker: Speaker, key: tuple[int, ...], labels: dict, *,
          rate: float, pitch: float, pitch_range: float, volume: float) -> Take:
    """A take around the given prosody, jittered by a generator seeded from ``key``."""
    rng = np.random.default_rng([*key, 0])
    return Take(
        path=path,
        text=text,
        speaker=speaker.id,
        voice=speaker.voice,
        rate=round(_clip(rate * rng.normal(1.0, 0.05), RATE_RANGE), 2),
        pitch=round(_clip(pitch + rng.normal(0.0, 3.0), PITCH_RANGE), 2),
        pitch_range=round(_clip(pitch_range + rng.normal(0.0, 5.0), RANGE_RANGE), 2),
        volume=round(_clip(volume + rng.normal(0.0, 4.0), VOLUME_RANGE), 2),
        amplitude=round(float(speaker.amplitude * np.exp(rng.normal(0.0, 0.12))), 4),
        noise_std=round(float(10 ** ((speaker.noise_db + rng.normal(0.0, 1.5)) / 20)), 6),
        noise_seed=(*key, 1),
        labels=labels,
    )


def _digit_takes(seed: int, ids: Sequence[int], repetitions: int) -> tuple[dict[int, Speaker], list[Take]]:
    speakers = {p: _digit_speaker(seed, p) for p in ids}
    takes = []
    for p, s in speakers.items():
        for digit, word in enumerate(DIGIT_WORDS):
            for rep in range(repetitions):
                takes.append(_take(
                    f"data/{p:02d}/{digit}_{p:02d}_{rep}.wav", word, s, (seed, p, digit, rep),
                    {"digit": digit, "participant": p, "repetition": rep, "gender": s.gender},
                    rate=s.rate, pitch=s.pitch, pitch_range=s.pitch_range, volume=s.volume,
                ))
    return speakers, takes


#: emotion prosody relative to a speaker's neutral voice (normal intensity):
#: rate factor, pitch offset, pitch-range offset, volume offset, final punctuation
_EMOTION_PROSODY: dict[str, tuple[float, float, float, float, str]] = {
    "neutral": (1.00, 0.0, 0.0, 0.0, "."),
    "calm": (0.88, -5.0, -12.0, -15.0, "."),
    "happy": (1.10, 12.0, 22.0, 15.0, "!"),
    "sad": (0.76, -12.0, -25.0, -28.0, "."),
    "angry": (1.18, 6.0, 25.0, 45.0, "!"),
    "fearful": (1.25, 18.0, 8.0, -5.0, "."),
    "disgust": (0.85, -8.0, 12.0, 5.0, "."),
    "surprised": (1.05, 20.0, 32.0, 20.0, "?"),
}
#: how much a strong take exaggerates the deviation from neutral
STRONG_FACTOR = 1.7


def emotion_prosody(emotion: str, intensity: str = "01") -> dict:
    """Prosody of an emotion relative to a speaker's neutral voice.

    Parameters
    ----------
    emotion : str
        A code (``"05"``) or name (``"angry"``) of :data:`EMOTIONS`.
    intensity : str
        ``"01"`` normal or ``"02"`` strong (not for neutral).

    Returns
    -------
    prosody : dict
        ``rate_factor`` (multiplies the rate), ``pitch_offset``, ``range_offset`` and
        ``volume_offset`` (added to the speaker's values) and ``punctuation`` (ends the text).
    """
    name = EMOTIONS.get(emotion, emotion)
    if name not in _EMOTION_PROSODY:
        raise ParameterError(f"emotion must be one of {sorted(EMOTIONS)} or {sorted(EMOTIONS.values())}, got {emotion!r}")
    if intensity not in ("01", "02") or (name == "neutral" and intensity == "02"):
        raise ParameterError(f"intensity must be '01' or '02' ('01' only for neutral), got {intensity!r} for {name}")
    rate_f, pitch_o, range_o, vol_o, punct = _EMOTION_PROSODY[name]
    k = STRONG_FACTOR if intensity == "02" else 1.0
    return {
        "rate_factor": 1.0 + k * (rate_f - 1.0),
        "pitch_offset": k * pitch_o,
        "range_offset": k * range_o,
        "volume_offset": k * vol_o,
        "punctuation": punct,
    }


def _emotion_takes(seed: int, ids: Sequence[int], repetitions: int) -> tuple[dict[int, Speaker], list[Take]]:
    speakers = {a: _actor_speaker(seed, a) for a in ids}
    takes = []
    for a, s in speakers.items():
        for e_code, e_name in EMOTIONS.items():
            for intensity in (("01",) if e_name == "neutral" else ("01", "02")):
                p = emotion_prosody(e_code, intensity)
                for st_code, statement in STATEMENTS.items():
                    for rep in range(1, repetitions + 1):
                        name = f"03-01-{e_code}-{intensity}-{st_code}-{rep:02d}-{a:02d}.wav"
                        key = (seed, a, int(e_code), int(intensity), int(st_code), rep)
                        takes.append(_take(
                            f"Actor_{a:02d}/{name}", statement + p["punctuation"], s, key,
                            {"emotion": e_name, "emotion_code": e_code, "intensity": intensity,
                             "statement": st_code, "repetition": rep, "actor": a, "gender": s.gender},
                            rate=s.rate * p["rate_factor"], pitch=s.pitch + p["pitch_offset"],
                            pitch_range=s.pitch_range + p["range_offset"], volume=s.volume + p["volume_offset"],
                        ))
    return speakers, takes


# ---------------------------------------------------------------------------------
# rendering one take
# ---------------------------------------------------------------------------------

def _trim(y: np.ndarray, sr: int, *, top_db: float = 40.0, margin: float = 0.04) -> np.ndarray:
    """Cut leading and trailing silence, keeping ``margin`` seconds around the speech.

    Speech is where the RMS of 10 ms frames is within ``top_db`` of the loudest frame.
    """
    frame = max(1, int(0.01 * sr))
    n = len(y) // frame
    if n == 0:
        return y
    rms = np.sqrt(np.mean(y[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (-top_db / 20))
    pad = int(margin * sr)
    start = max(0, loud[0] * frame - pad)
    stop = min(len(y), (loud[-1] + 1) * frame + pad)
    return y[start:stop]


def _resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return y
    import soxr

    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32)


#: how a take is processed after espeak-ng (recorded in every manifest)
PROCESSING = {
    "trim_top_db": 40.0,
    "trim_margin_seconds": 0.04,
    "resampler": "soxr HQ",
    "peak_limit": 0.99,
    "subtype": "PCM_16",
}


def _render(take: Take, sample_rate: int) -> np.ndarray:
    """The take's final samples: speech, trimmed, scaled, resampled, plus noise; in [-1, 1].

    A take whose peak would exceed ``PROCESSING["peak_limit"]`` is scaled down to it,
    as a recording engineer would, instead of clipping.
    """
    y, sr = speak(take.text, voice=take.voice, rate=take.rate, pitch=take.pitch,
                  pitch_range=take.pitch_range, volume=take.volume)
    y = _trim(y, sr, top_db=PROCESSING["trim_top_db"], margin=PROCESSING["trim_margin_seconds"])
    y = _resample(y * np.float32(take.amplitude), sr, sample_rate)
    peak = float(np.abs(y).max()) if y.size else 0.0
    if peak > PROCESSING["peak_limit"]:
        y = y * np.float32(PROCESSING["peak_limit"] / peak)
    noise = np.random.default_rng(list(take.noise_seed)).normal(0.0, take.noise_std, size=y.shape)
    return np.clip(y + noise.astype(np.float32), -1.0, 1.0)


def _write_wav(path: Path, y: np.ndarray, sample_rate: int) -> None:
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(tmp, y, sample_rate, format="WAV", subtype="PCM_16")


# ---------------------------------------------------------------------------------
# corpus building: reuse, resume, force
# ---------------------------------------------------------------------------------

MANIFEST = "manifest.json"


def _check_int(name: str, value, minimum: int, maximum: int | None = None) -> None:
    bad = isinstance(value, bool) or not isinstance(value, (int, np.integer))
    if bad or value < minimum or (maximum is not None and value > maximum):
        bound = f"[{minimum}, {maximum}]" if maximum is not None else f">= {minimum}"
        raise ParameterError(f"{name} must be an integer {bound}, got {value!r}")


def _check_seed(seed) -> None:
    _check_int("seed", seed, 0)


def _resolve_ids(name: str, count: int, ids: Sequence[int] | None, maximum: int) -> list[int]:
    """``1..count``, or the given subset of it (sorted, unique)."""
    _check_int(f"{name}s", count, 1, maximum)
    if ids is None:
        return list(range(1, count + 1))
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise ParameterError(f"{name}_ids must be a sequence of integers, got {ids!r}")
    ids = list(ids)
    if not ids:
        raise ParameterError(f"{name}_ids must not be empty, got {ids!r}")
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 1 <= i <= count:
            raise ParameterError(f"{name}_ids must lie in [1, {count}] ({name}s={count}), got {i!r}")
    if len(set(ids)) != len(ids):
        raise ParameterError(f"{name}_ids must be unique, got {ids!r}")
    return sorted(int(i) for i in ids)


def _read_manifest(out_dir: Path) -> dict | None:
    path = out_dir / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is unreadable ({exc}); pass force=True to rebuild {out_dir}") from exc


def _differing(old: dict, new: dict) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} (stored) != {new.get(k)!r} (requested)" for k in keys if old.get(k) != new.get(k)]


def _say(progress: bool, message: str) -> None:
    logger.info(message)
    if progress:
        print(message, file=sys.stderr)


@dataclass
class _Corpus:
    """What a synthesizer asks :func:`_build` to produce."""

    kind: str
    params: dict                      # global parameters: they decide reuse
    speakers: dict[int, Speaker]
    takes: list[Take]
    extra_files: dict[str, Callable[[], dict]]  # relative path -> JSON content (e.g. meta)


def _build(out_dir, corpus: _Corpus, *, progress: bool, force: bool) -> Path:
    """Reuse, finish or (re)build the corpus in ``out_dir``; return ``out_dir``."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"out_dir {out_dir} exists and is not a folder")
    log = EventLog(out_dir)
    if force:
        if out_dir.exists() and any(out_dir.iterdir()):
            return _rebuild(out_dir, corpus, progress=progress, log=log)
        return _fill(out_dir, corpus, progress=progress, log=log, mode="fresh")

    manifest = _read_manifest(out_dir) if out_dir.exists() else None
    if manifest is not None:
        if manifest.get("kind") != corpus.kind or manifest.get("params") != corpus.params:
            diffs = _differing(manifest.get("params") or {}, corpus.params)
            if manifest.get("kind") != corpus.kind:
                diffs.insert(0, f"kind: {manifest.get('kind')!r} (stored) != {corpus.kind!r} (requested)")
            raise CorpusMismatch(
                f"{out_dir} holds a corpus made with other parameters ({'; '.join(diffs)}); "
                "pass force=True to rebuild it"
            )
        if manifest.get("complete") and _all_present(out_dir, manifest):
            _say(progress, f"reusing the {corpus.kind} corpus in {out_dir} ({len(manifest['files'])} files)")
            log("synthesize_reuse", kind=corpus.kind, files=len(manifest["files"]))
            return out_dir
        return _fill(out_dir, corpus, progress=progress, log=log, mode="resume")
    has_files = out_dir.exists() and any((out_dir / t.path).exists() for t in corpus.takes)
    return _fill(out_dir, corpus, progress=progress, log=log, mode="resume" if has_files else "fresh")


def _all_present(out_dir: Path, manifest: dict) -> bool:
    return all((out_dir / f["path"]).is_file() for f in manifest.get("files", [])) and all(
        (out_dir / p).is_file() for p in manifest.get("extra_files", {})
    )


def _rebuild(out_dir: Path, corpus: _Corpus, *, progress: bool, log: EventLog) -> Path:
    """Build into a sibling temporary folder, then swap it in for ``out_dir``."""
    tmp = out_dir.with_name(f".{out_dir.name}.rebuild-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    log("synthesize_rebuild", kind=corpus.kind, params=corpus.params, staging=str(tmp))
    _fill(tmp, corpus, progress=progress, log=log, mode="rebuild")
    if log.path.exists():  # keep the history of the folder
        os.replace(log.path, tmp / log.path.name)
    exchange(tmp, out_dir)   # the new corpus in, in one step; the old one now at tmp
    shutil.rmtree(tmp, ignore_errors=True)
    EventLog(out_dir)("synthesize_swapped", kind=corpus.kind)
    return out_dir


def _remove_stale_temporaries(folder: Path) -> None:
    """Temporary files left by a killed run (``.name.pid.tmp``)."""
    if folder.exists():
        for tmp in folder.rglob(".*.tmp"):
            if tmp.is_file():
                tmp.unlink()


def _check_existing(path: Path, sample_rate: int) -> None:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises its own LibsndfileError
        raise DataError(f"{path} is not a readable WAV ({exc}); delete it or pass force=True") from exc
    if info.samplerate != sample_rate or info.channels != 1:
        raise CorpusMismatch(
            f"{path} has {info.channels} channel(s) at {info.samplerate} Hz, not mono at "
            f"sample_rate={sample_rate}; pass force=True to rebuild {path.parent}"
        )


def _duration(path: Path) -> float:
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate


def _fill(out_dir: Path, corpus: _Corpus, *, progress: bool, log: EventLog, mode: str) -> Path:
    """Synthesize every missing file of ``corpus`` in ``out_dir`` and write the manifest."""
    from tqdm.auto import tqdm

    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out_dir)
    engine = _engine()
    sample_rate = corpus.params["sample_rate"]
    header = {
        "kind": corpus.kind,
        "params": corpus.params,
        "espeak": {"version": engine.version, "sample_rate": engine.sample_rate},
        "sample_rate": sample_rate,
        "processing": PROCESSING,
        "speakers": {f"{k:02d}": {**asdict(s), "voice": s.voice} for k, s in corpus.speakers.items()},
        "extra_files": {},
    }
    existing = [t for t in corpus.takes if (out_dir / t.path).is_file()]
    for t in existing:
        _check_existing(out_dir / t.path, sample_rate)
    write_json_atomic(out_dir / MANIFEST, {**header, "complete": False, "files": []})
    log("synthesize_start", kind=corpus.kind, mode=mode, params=corpus.params, files=len(corpus.takes),
        existing=len(existing), espeak=header["espeak"])
    if mode == "resume":
        _say(progress, f"finishing the {corpus.kind} corpus in {out_dir}: "
                       f"{len(existing)} of {len(corpus.takes)} files present")

    for rel, make in corpus.extra_files.items():
        write_json_atomic(out_dir / rel, make())
        header["extra_files"][rel] = sha256_file(out_dir / rel)

    present = {t.path for t in existing}
    records = []
    with tqdm(total=len(corpus.takes), initial=len(present), desc=f"synthesize {corpus.kind}",
              unit="clip", disable=not progress) as bar:
        for take in corpus.takes:
            path = out_dir / take.path
            if take.path not in present:
                y = _render(take, sample_rate)
                _write_wav(path, y, sample_rate)
                seconds = len(y) / sample_rate
                bar.update()
            else:
                seconds = _duration(path)
            records.append(_file_record(take, path, seconds, resumed=take.path in present))

    manifest = {**header, "complete": True, "files": records,
                "build_seconds": round(time.perf_counter() - started, 3)}
    write_json_atomic(out_dir / MANIFEST, manifest)
    log("synthesize_done", kind=corpus.kind, mode=mode, files=len(records),
        synthesized=len(records) - len(present), kept=len(present), seconds=manifest["build_seconds"])
    return out_dir


def _file_record(take: Take, path: Path, seconds: float, *, resumed: bool) -> dict:
    record = asdict(take)
    record["range"] = record.pop("pitch_range")
    record["noise_seed"] = list(take.noise_seed)
    record.update(sha256=sha256_file(path), seconds=round(seconds, 4), kept_from_earlier_run=resumed)
    return record


# ---------------------------------------------------------------------------------
# public synthesizers
# ---------------------------------------------------------------------------------

def _check_common(repetitions, sample_rate, seed, progress, force) -> None:
    _check_int("repetitions", repetitions, 1, 99)
    _check_int("sample_rate", sample_rate, 8000, 192000)
    _check_seed(seed)
    for name, value in (("progress", progress), ("force", force)):
        if not isinstance(value, bool):
            raise ParameterError(f"{name} must be True or False, got {value!r}")


def synthesize_digits(
    out_dir: str | os.PathLike,
    *,
    participants: int = 60,
    repetitions: int = 5,
    sample_rate: int = 48000,
    seed: int = 0,
    participant_ids: Sequence[int] | None = None,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Synthesize a spoken-digit corpus in AudioMNIST's layout (or reuse a stored one).

    Writes ``out_dir/data/NN/{digit}_{NN}_{rep}.wav`` (mono 16-bit PCM at ``sample_rate``),
    ``out_dir/data/audioMNIST_meta.txt`` (see :func:`audiomnist_meta`), ``out_dir/manifest.json``
    (every synthesis parameter, per file too, and each file's SHA-256) and appends to
    ``out_dir/events.log``. Participants ``12, 26, 28, 36, 43, 47, 52, 56, 57, 58, 59, 60``
    are female, the others male, as in AudioMNIST; each has a distinct voice.

    Parameters
    ----------
    out_dir : path
        Folder of the corpus; it belongs to the corpus (``force`` replaces it whole).
    participants : int
        Number of participants, ids ``1..participants`` (1..60).
    repetitions : int
        Takes of each digit per participant, ``rep`` = ``0..repetitions-1``.
    sample_rate : int
        Output sample rate in Hz (espeak-ng speaks at 22050 Hz; resampled with soxr).
    seed : int
        Seed of the speakers, the takes' variation and the noise.
    participant_ids : sequence of int, optional
        Synthesize only these participants (each in ``1..participants``).
    progress : bool
        Show a progress bar and say when a corpus is reused or finished.
    force : bool
        Rebuild even if ``out_dir`` holds a corpus (built in a temporary folder and
        swapped in when complete).

    Returns
    -------
    out_dir : pathlib.Path

    Raises
    ------
    ParameterError
        For an invalid parameter, or when ``out_dir`` holds a corpus made with other
        parameters and ``force`` is False (the message names the differing parameters).
    DataError
        When espeak-ng fails or a stored file is unreadable.

    Notes
    -----
    A complete corpus with the same parameters is reused untouched. An interrupted one
    (manifest missing or incomplete) is finished: present files are kept and hashed,
    missing ones synthesized. espeak-ng is not bit-reproducible, so a rebuilt corpus
    differs slightly from the first one even with the same seed.
    """
    _check_common(repetitions, sample_rate, seed, progress, force)
    ids = _resolve_ids("participant", participants, participant_ids, MAX_PARTICIPANTS)
    params = {
        "generator_version": GENERATOR_VERSION,
        "participants": participants,
        "participant_ids": ids,
        "repetitions": repetitions,
        "sample_rate": sample_rate,
        "seed": seed,
    }
    speakers, takes = _digit_takes(seed, ids, repetitions)
    corpus = _Corpus(
        kind="digits", params=params, speakers=speakers, takes=takes,
        extra_files={"data/audioMNIST_meta.txt": lambda: {f"{p:02d}": _meta_entry(speakers[p], seed) for p in ids}},
    )
    return _build(out_dir, corpus, progress=progress, force=force)


def synthesize_emotions(
    out_dir: str | os.PathLike,
    *,
    actors: int = 24,
    repetitions: int = 2,
    sample_rate: int = 48000,
    seed: int = 0,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Synthesize an emotional-speech corpus in RAVDESS's layout (or reuse a stored one).

    Writes ``out_dir/Actor_NN/03-01-EE-II-SS-RR-AA.wav``: modality 03 (audio only),
    vocal channel 01 (speech), emotion ``EE`` in :data:`EMOTIONS`, intensity ``II``
    (01 normal, 02 strong; neutral has no strong takes), statement ``SS`` in
    :data:`STATEMENTS`, repetition ``RR`` = ``01..repetitions``, actor ``AA``
    (odd male, even female). That is ``actors * 30 * repetitions`` mono 16-bit files.
    Each emotion is a prosody setting (see :func:`emotion_prosody`) applied to the
    actor's own voice; strong takes exaggerate it. Also writes ``out_dir/manifest.json``
    and appends to ``out_dir/events.log``.

    Parameters
    ----------
    out_dir : path
        Folder of the corpus; it belongs to the corpus (``force`` replaces it whole).
    actors : int
        Number of actors, an even number >= 2 (ids ``1..actors``).
    repetitions : int
        Takes of each statement per emotion and intensity.
    sample_rate : int
        Output sample rate in Hz (espeak-ng speaks at 22050 Hz; resampled with soxr).
    seed : int
        Seed of the actors, the takes' variation and the noise.
    progress : bool
        Show a progress bar and say when a corpus is reused or finished.
    force : bool
        Rebuild even if ``out_dir`` holds a corpus.

    Returns
    -------
    out_dir : pathlib.Path

    Raises
    ------
    ParameterError
        For an invalid parameter (e.g. an odd number of actors), or when ``out_dir`` holds
        a corpus made with other parameters and ``force`` is False.
    DataError
        When espeak-ng fails or a stored file is unreadable.

    Notes
    -----
    Reuse, resumption and ``force`` behave as in :func:`synthesize_digits`.
    """
    _check_common(repetitions, sample_rate, seed, progress, force)
    _check_int("actors", actors, 2, MAX_ACTORS)
    if actors % 2:
        raise ParameterError(f"actors must be even (half male, half female), got {actors!r}")
    ids = list(range(1, actors + 1))
    params = {
        "generator_version": GENERATOR_VERSION,
        "actors": actors,
        "repetitions": repetitions,
        "sample_rate": sample_rate,
        "seed": seed,
    }
    speakers, takes = _emotion_takes(seed, ids, repetitions)
    corpus = _Corpus(kind="emotions", params=params, speakers=speakers, takes=takes, extra_files={})
    return _build(out_dir, corpus, progress=progress, force=force)
