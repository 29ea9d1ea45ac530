"""The emotional-speech corpus in RAVDESS's layout: emotions as prosody settings."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ...errors import ParameterError
from .checks import check_common, check_int
from .corpus import GENERATOR_VERSION, build_corpus, CorpusPlan
from .voices import EMOTIONS_TAG, Speaker, Take, make_speaker, make_take
from ..corpora.ravdess import EMOTIONS, STATEMENTS  # the corpus's own codes, defined once

__all__ = [
    "EMOTIONS",
    "MAX_ACTORS",
    "STATEMENTS",
    "STRONG_FACTOR",
    "emotion_prosody",
    "synthesize_emotions",
]


#: ``Actor_NN`` and the ``AA`` field have two digits
MAX_ACTORS = 98


def _actor_gender(actor: int) -> str:
    """RAVDESS convention: odd actors are male, even ones female."""
    return "male" if actor % 2 else "female"


def _actor_speaker(seed: int, actor: int) -> Speaker:
    """The speaker of an actor; actors ``2k-1`` and ``2k`` have variant rank ``k-1``."""
    return make_speaker(seed, EMOTIONS_TAG, actor, _actor_gender(actor), (actor - 1) // 2)


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
    """The actors' speakers and every take: each emotion, intensity, statement and repetition."""
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
                        takes.append(make_take(
                            f"Actor_{a:02d}/{name}", statement + p["punctuation"], s, key,
                            {"emotion": e_name, "emotion_code": e_code, "intensity": intensity,
                             "statement": st_code, "repetition": rep, "actor": a, "gender": s.gender},
                            rate=s.rate * p["rate_factor"], pitch=s.pitch + p["pitch_offset"],
                            pitch_range=s.pitch_range + p["range_offset"], volume=s.volume + p["volume_offset"],
                        ))
    return speakers, takes


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
    check_common(repetitions, sample_rate, seed, progress, force)
    check_int("actors", actors, 2, MAX_ACTORS)
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
    corpus = CorpusPlan(kind="emotions", params=params, speakers=speakers, takes=takes, extra_files={})
    return build_corpus(out_dir, corpus, progress=progress, force=force)
