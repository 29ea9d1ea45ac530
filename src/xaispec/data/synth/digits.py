"""The spoken-digit corpus in AudioMNIST's layout, and its meta data."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..corpora import AUDIOMNIST_FEMALE
from .checks import check_common, check_id, check_seed, resolve_ids
from .corpus import GENERATOR_VERSION, build_corpus, CorpusPlan
from .voices import DIGITS_TAG, ORIGINS, Speaker, Take, make_speaker, make_take

__all__ = [
    "DIGIT_WORDS",
    "FEMALE_PARTICIPANTS",
    "MAX_PARTICIPANTS",
    "audiomnist_meta",
    "participant_gender",
    "synthesize_digits",
]


#: English words of the digits 0..9, as spoken in the digits corpus
DIGIT_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)

#: AudioMNIST's female participants (defined with the corpus); all others are male
FEMALE_PARTICIPANTS: frozenset[int] = AUDIOMNIST_FEMALE

#: AudioMNIST participant ids are 01..60
MAX_PARTICIPANTS = 60


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
    check_id("participant", participant, MAX_PARTICIPANTS)
    return "female" if participant in FEMALE_PARTICIPANTS else "male"


def _digit_speaker(seed: int, participant: int) -> Speaker:
    """The speaker of a participant; its variant rank counts the earlier participants of its gender."""
    gender = participant_gender(participant)
    rank = sum(participant_gender(p) == gender for p in range(1, participant))
    return make_speaker(seed, DIGITS_TAG, participant, gender, rank)


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
    ids = resolve_ids("participant", participants, participant_ids, MAX_PARTICIPANTS)
    check_seed(seed)
    return {f"{p:02d}": _meta_entry(_digit_speaker(seed, p), seed) for p in ids}


def _meta_entry(speaker: Speaker, seed: int) -> dict:
    """A speaker's entry of ``audioMNIST_meta.txt``, with a recording date drawn from the seed."""
    rng = np.random.default_rng([seed, DIGITS_TAG, speaker.id, 1])
    stamp = (17, int(rng.integers(6, 13)), int(rng.integers(1, 29)), int(rng.integers(8, 19)),
             int(rng.integers(0, 60)), int(rng.integers(0, 60)))
    return {
        "accent": speaker.accent,
        "age": str(speaker.age),
        "gender": speaker.gender,
        "native speaker": "yes",
        "origin": f"{ORIGINS[speaker.language]} (synthetic, espeak-ng {speaker.voice})",
        "recordingdate": "-".join(f"{v:02d}" for v in stamp),
        "recordingroom": "synthetic",
    }


def _digit_takes(seed: int, ids: Sequence[int], repetitions: int) -> tuple[dict[int, Speaker], list[Take]]:
    """The participants' speakers and every take: each digit ``repetitions`` times per participant."""
    speakers = {p: _digit_speaker(seed, p) for p in ids}
    takes = []
    for p, s in speakers.items():
        for digit, word in enumerate(DIGIT_WORDS):
            for rep in range(repetitions):
                takes.append(make_take(
                    f"data/{p:02d}/{digit}_{p:02d}_{rep}.wav", word, s, (seed, p, digit, rep),
                    {"digit": digit, "participant": p, "repetition": rep, "gender": s.gender},
                    rate=s.rate, pitch=s.pitch, pitch_range=s.pitch_range, volume=s.volume,
                ))
    return speakers, takes


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
    check_common(repetitions, sample_rate, seed, progress, force)
    ids = resolve_ids("participant", participants, participant_ids, MAX_PARTICIPANTS)
    params = {
        "generator_version": GENERATOR_VERSION,
        "participants": participants,
        "participant_ids": ids,
        "repetitions": repetitions,
        "sample_rate": sample_rate,
        "seed": seed,
    }
    speakers, takes = _digit_takes(seed, ids, repetitions)
    corpus = CorpusPlan(
        kind="digits", params=params, speakers=speakers, takes=takes,
        extra_files={"data/audioMNIST_meta.txt": lambda: {f"{p:02d}": _meta_entry(speakers[p], seed) for p in ids}},
    )
    return build_corpus(out_dir, corpus, progress=progress, force=force)
