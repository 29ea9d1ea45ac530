"""Planted-cue corpora: the label carried only by a cue whose time-frequency cells are known.

Every clip is a random spoken digit (an espeak-ng take that says nothing about the label)
plus a cue of the clip's class (:mod:`.cue_signals`). Speech and cue are stored apart as
well, quantized so that ``clip = speech + cue`` holds bit for bit, and the manifest records
every cue's parameters, so a cue can be made again exactly (:func:`cue_signal`). That is
the ground truth explanation maps are measured against.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ...errors import DataError, ParameterError
from ..corpora.cues import SPEAKERS_FILE, cue_clip_path
from .checks import check_flag, check_int, check_number, check_seed
from .corpus import GENERATOR_VERSION, MANIFEST, CorpusPlan, build_corpus
from .cue_corpus import ClipPlan, fill_cues
from .cue_signals import (
    CUE_DEFAULTS,
    CUE_KINDS,
    check_band,
    check_kind,
    class_bands,
    click_rates,
    cue_classes,
    cue_signal,
    cue_span,
    draw_cue,
    pulse_samples,
)
from .digits import DIGIT_WORDS
from .voices import CUES_TAG, Speaker, make_speaker, make_take

__all__ = [
    "CUE_DEFAULTS",
    "CUE_KINDS",
    "MAX_SPEAKERS",
    "class_bands",
    "cue_classes",
    "cue_signal",
    "read_cue_manifest",
    "synthesize_cues",
]

#: speaker ids are 01..60
MAX_SPEAKERS = 60
#: seconds: the longest clip (the models' inputs are one second long: nothing is cropped)
MAX_CLIP_SECONDS = 1.0


def _speaker_gender(speaker: int) -> str:
    """Odd speakers are male, even ones female."""
    return "male" if speaker % 2 else "female"


def _check_duration(kind: str, duration, classes: int, clip_seconds: float, sample_rate: int) -> float:
    """The cue duration (the kind's default when None), checked against the kind and the clip."""
    duration = CUE_DEFAULTS[kind]["duration"] if duration is None else duration
    duration = check_number("duration", duration, 0.0, MAX_CLIP_SECONDS)
    if kind == "clicks":
        slowest = float(click_rates(classes)[0])
        if duration <= 1.0 / slowest:
            raise ParameterError(f"duration of a clicks cue must exceed {1.0 / slowest:g} s "
                                 f"(two clicks at {slowest:g} Hz), got {duration!r}")
        fastest = float(click_rates(classes)[-1])
        if fastest > sample_rate / (4 * pulse_samples(sample_rate)):
            raise ParameterError(f"classes={classes!r} gives clicks at {fastest:g} Hz, too fast for "
                                 f"sample_rate={sample_rate!r}; use fewer classes")
    elif duration < 3 * CUE_DEFAULTS[kind]["ramp"]:
        raise ParameterError(f"duration of a {kind} cue must be at least {3 * CUE_DEFAULTS[kind]['ramp']:g} s "
                             f"(its fades take {2 * CUE_DEFAULTS[kind]['ramp']:g} s), got {duration!r}")
    span = cue_span(kind, duration, sample_rate)
    if span > round(clip_seconds * sample_rate):
        raise ParameterError(f"a {kind} cue of duration={duration!r} s ({span / sample_rate:g} s in all) "
                             f"does not fit clip_seconds={clip_seconds!r}")
    return duration


def _clip_plans(kind: str, params: dict) -> tuple[dict[int, Speaker], list[ClipPlan]]:
    """The speakers and every clip: ``clips`` per class per speaker, each with its own draws.

    The draws of clip ``(speaker, class, rep)`` come from a generator seeded with
    ``[seed, speaker, class, rep, 2]`` (digit word, speech start, then the cue's onset,
    frequencies and noise seed); its take is keyed by ``(seed, speaker, class, rep)``.
    """
    seed, sample_rate = params["seed"], params["sample_rate"]
    length = int(round(params["clip_seconds"] * sample_rate))
    speakers = {i: make_speaker(seed, CUES_TAG, i, _speaker_gender(i), (i - 1) // 2)
                for i in range(1, params["speakers"] + 1)}
    plans = []
    for i, s in speakers.items():
        for c in range(params["classes"]):
            for rep in range(params["clips"]):
                rng = np.random.default_rng([seed, i, c, rep, 2])
                digit = int(rng.integers(len(DIGIT_WORDS)))
                start_fraction = float(rng.random())
                cue = draw_cue(kind, c, rng, classes=params["classes"], band=params["band"],
                               duration=params["duration"], sample_rate=sample_rate, length=length)
                take = make_take(cue_clip_path(c, i, rep), DIGIT_WORDS[digit], s, (seed, i, c, rep),
                                 {"cue": c, "speaker": i, "rep": rep, "digit": digit, "gender": s.gender},
                                 rate=s.rate, pitch=s.pitch, pitch_range=s.pitch_range, volume=s.volume)
                plans.append(ClipPlan(take=take, speaker=i, gender=s.gender, cue_class=c, rep=rep, digit=digit,
                                      start_fraction=start_fraction, cue=cue))
    return speakers, plans


def synthesize_cues(
    out_dir: str | os.PathLike,
    *,
    kind: str = "tone",
    speakers: int = 10,
    clips: int = 5,
    classes: int = 4,
    level_db: float = 0.0,
    clip_seconds: float = 0.9,
    band=(300.0, 3600.0),
    duration: float | None = None,
    sample_rate: int = 16000,
    seed: int = 0,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Synthesize a planted-cue corpus (or reuse a stored one).

    Every clip is ``clip_seconds`` long: one espeak-ng take of a digit word drawn from the
    seed (independent of the class) starting at a random sample, plus a cue of the clip's
    class at a random onset where it fits whole. Writes, with ``NN`` the speaker and
    ``{class}_{NN}_{rep}.wav`` the name:

    * ``out_dir/clips/NN/...`` speech + cue, what the models hear (mono PCM_16);
    * ``out_dir/speech/NN/...`` the speech alone, ``out_dir/cues/NN/...`` the cue alone,
      with ``clip == speech + cue`` exactly, sample for sample;
    * ``out_dir/speakers.json`` (``{"NN": {"gender", "voice", ...}}``, odd ids male, even female);
    * ``out_dir/manifest.json``: kind ``cues-<kind>``, the parameters, and per clip its
      paths and their SHA-256, speaker, class, rep, digit, speech start and the ``cue``
      that :func:`cue_signal` makes again; plus ``out_dir/events.log``.

    Parameters
    ----------
    out_dir : path
        Folder of the corpus; it belongs to the corpus (``force`` replaces it whole).
    kind : str
        One of :data:`CUE_KINDS`: ``tone`` (class = band of a short tone burst), ``noise``
        (class = band of band-limited noise), ``clicks`` (class = click rate ``5 * 2**k`` Hz),
        ``pair`` (2 classes: a low and a high tone burst, low first for class 0).
    speakers : int
        Speakers, ids ``1..speakers`` (at most 60).
    clips : int
        Clips of every class per speaker, ``rep = 0..clips-1`` (1..99).
    classes : int
        Classes of the tone, noise and clicks cues (2..10; at most 9 for the clicks at
        8 or 16 kHz, whose fastest rate ``5 * 2**(classes-1)`` Hz must leave 4 click widths
        between clicks); the pair cue always has 2.
    level_db : float
        The cue's RMS over its span relative to the speech's RMS over its span (-60..60 dB).
        When the mix would peak above 0.99, speech and cue are scaled down together.
    clip_seconds : float
        Length of every clip (at most 1 s, so nothing is cropped later).
    band : (float, float)
        Hz, the range the class bands split (log-spaced, see :func:`class_bands`); below 3800.
    duration : float, optional
        Seconds of the cue (of each burst and the gap for ``pair``); default
        ``CUE_DEFAULTS[kind]["duration"]`` (0.1 tone and pair, 0.5 noise and clicks).
    sample_rate : int
        Hz of the files (espeak-ng speaks at 22050 Hz; resampled with soxr).
    seed : int
        Seed of the speakers, takes, words, positions and cues.
    progress : bool
        Show a progress bar and say when a corpus is reused or finished.
    force : bool
        Rebuild even if ``out_dir`` holds a corpus (in a sibling folder, then swapped in).

    Returns
    -------
    out_dir : pathlib.Path

    Raises
    ------
    ParameterError
        For an invalid parameter; :class:`~xaispec.errors.CorpusMismatch` when ``out_dir``
        holds a corpus made with other parameters and ``force`` is False.
    DataError
        When espeak-ng fails or a stored manifest is unreadable.

    Notes
    -----
    A complete corpus with the same parameters is reused untouched. An interrupted one is
    finished: clips recorded in its manifest whose three files match their hashes are
    kept, every other clip is written again. The clip ``(speaker, class, rep)`` has the
    same word, take and speech start whatever the ``kind``.
    """
    check_kind(kind)
    check_int("speakers", speakers, 1, MAX_SPEAKERS)
    check_int("clips", clips, 1, 99)
    n_classes = cue_classes(kind, classes)
    level_db = check_number("level_db", level_db, -60.0, 60.0)
    clip_seconds = check_number("clip_seconds", clip_seconds, 0.05, MAX_CLIP_SECONDS)
    low, high = check_band(band)
    check_int("sample_rate", sample_rate, 8000, 192000)
    duration = _check_duration(kind, duration, n_classes, clip_seconds, sample_rate)
    check_seed(seed)
    check_flag("progress", progress)
    check_flag("force", force)
    params = {
        "generator_version": GENERATOR_VERSION,
        "kind": kind,
        "speakers": speakers,
        "clips": clips,
        "classes": n_classes,
        "level_db": level_db,
        "clip_seconds": clip_seconds,
        "band": [low, high],
        "duration": duration,
        "sample_rate": sample_rate,
        "seed": seed,
    }
    voices, plans = _clip_plans(kind, params)
    corpus = CorpusPlan(
        kind=f"cues-{kind}", params=params, speakers=voices, takes=[p.take for p in plans],
        extra_files={SPEAKERS_FILE: lambda: {f"{i:02d}": {**asdict(s), "voice": s.voice} for i, s in voices.items()}},
        fill=functools.partial(fill_cues, clips=plans),
    )
    return build_corpus(out_dir, corpus, progress=progress, force=force)


def read_cue_manifest(root: str | os.PathLike) -> dict[str, dict]:
    """Every clip's manifest record, keyed by its path (as in the index's ``path`` column).

    Parameters
    ----------
    root : path
        A planted-cue corpus folder.

    Returns
    -------
    dict
        ``"clips/NN/{class}_{NN}_{rep}.wav"`` -> record: ``path``, ``sha256``, ``companions``
        (``{"speech": path, "cue": path}``) and ``companion_sha256``, ``speaker``, ``gender``,
        ``class``, ``rep``, ``digit``, ``text``, ``speech_start``, ``speech_samples`` (samples),
        ``mix_gain``, ``speech_rms``, ``cue_rms`` (int16 units), ``level_db`` (measured),
        ``cue`` (for :func:`cue_signal`; its ``amplitude`` is in int16 units), ``take``.

    Raises
    ------
    DataError
        When ``manifest.json`` is missing, unreadable, not a planted-cue manifest or incomplete.
    """
    path = Path(root) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: manifest not found (make the corpus with synthesize_cues)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from None
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if not str(kind).startswith("cues-") or not isinstance(manifest.get("files"), list):
        raise DataError(f"{path}: not a planted-cue manifest (kind {kind!r})")
    if not manifest.get("complete"):
        raise DataError(f"{path}: incomplete (an interrupted synthesis); run synthesize_cues again")
    return {record["path"]: record for record in manifest["files"]}
