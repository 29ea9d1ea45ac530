"""The corpora xaispec knows, and indexing one by name.

:data:`CORPORA` lists the real corpora and the synthetic ones (which use the AudioMNIST
and RAVDESS layouts, and the planted-cue layout of :mod:`.cues`); a path ending in ``.csv``
names a manifest corpus.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ...errors import DataError, ParameterError
from .audiomnist import index_audiomnist
from .base import Corpus, Skip
from .cues import index_cues
from .fsdd import index_fsdd
from .manifest import index_manifest
from .ravdess import index_ravdess

__all__ = ["CORPORA", "get_corpus", "index_corpus"]

#: the named corpora: real ones and synthetic ones in a real corpus's layout
CORPORA = {
    "audiomnist": Corpus("audiomnist", "digits", "audiomnist",
                         "AudioMNIST: 60 speakers x 10 digits x 50 takes, 48 kHz"),
    "fsdd": Corpus("fsdd", "digits", "fsdd", "Free Spoken Digit Dataset: 6 speakers, 8 kHz"),
    "ravdess": Corpus("ravdess", "emotions", "ravdess", "RAVDESS speech: 24 actors, 8 emotions"),
    "synthetic-digits": Corpus("synthetic-digits", "digits", "audiomnist",
                               "espeak-ng digits in AudioMNIST layout"),
    "synthetic-emotions": Corpus("synthetic-emotions", "emotions", "ravdess",
                                 "espeak-ng emotional statements in RAVDESS layout"),
    **{f"synthetic-cues-{kind}": Corpus(f"synthetic-cues-{kind}", "cues", "cues",
                                        f"planted {what} cue under espeak-ng digits: the cue alone carries the label")
       for kind, what in (("tone", "tone-burst"), ("noise", "band-noise"), ("clicks", "click-train"),
                          ("pair", "tone-pair order"))},
}


def get_corpus(name: str) -> Corpus:
    """The :class:`Corpus` called ``name``; a CSV path gives a manifest corpus."""
    if name in CORPORA:
        return CORPORA[name]
    if str(name).endswith(".csv"):
        return Corpus(Path(name).stem, "manifest", "manifest", f"recordings listed in {name}")
    raise ParameterError(f"unknown corpus {name!r}: use one of {sorted(CORPORA)} or a manifest .csv path")


_LOADERS = {"audiomnist": index_audiomnist, "fsdd": index_fsdd, "ravdess": index_ravdess,
            "manifest": index_manifest, "cues": index_cues}


def index_corpus(corpus: str, root: str | os.PathLike) -> tuple[pd.DataFrame, list[Skip]]:
    """Index ``corpus`` (a name of :data:`CORPORA` or a manifest CSV) found at ``root``.

    Returns
    -------
    table : pd.DataFrame
        One row per usable recording, sorted by ``sample_id``.
    skips : list of Skip
        Files left out, with reasons.
    """
    spec = get_corpus(corpus)
    root = Path(root)
    if spec.layout == "manifest":
        return index_manifest(root if root.suffix == ".csv" else corpus)
    if not root.is_dir():
        raise DataError(f"{root}: corpus folder of {corpus!r} not found "
                        f"(create it with 'xaispec data download {corpus}' or 'xaispec data synthesize')")
    return _LOADERS[spec.layout](root)
