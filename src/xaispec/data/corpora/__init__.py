"""Corpus loaders: each turns a corpus folder into one index table.

The index table has one row per recording and the columns

``sample_id`` (str, unique), ``path`` (str, relative to the corpus root), ``speaker`` (str),
``sex`` (``"male"``, ``"female"`` or ``"unknown"``), ``repetition`` (int), and the label
columns of the corpus kind: ``digit`` (int) for digit corpora; ``emotion`` (str),
``emotion_code``, ``intensity``, ``statement`` for emotion corpora; any label columns
of a manifest CSV; ``cue`` (int) for planted-cue corpora (:mod:`.cues`).

Files that do not fit the corpus (a name that does not match its pattern, a speaker
missing from the meta file, a duplicate sample id) are not indexed: each becomes a
:class:`Skip` naming the file and the reason. :mod:`.summary` gives the facts a page
states about an index and the recordings it shows as examples.
"""
from .audiomnist import AUDIOMNIST_FEMALE, index_audiomnist, read_audiomnist_meta
from .base import BASE_COLUMNS, LABELS, Corpus, Skip, main_label, speakers_table
from .cues import CUE_FOLDERS, companion_paths, cue_clip_path, index_cues, read_cue_speakers
from .fsdd import index_fsdd, read_fsdd_speakers
from .manifest import index_manifest
from .ravdess import EMOTIONS, STATEMENTS, index_ravdess, parse_ravdess_name
from .registry import CORPORA, get_corpus, index_corpus
from .summary import DESCRIBED_LABELS, corpus_summary, example_recordings, sex_counts

__all__ = [
    "AUDIOMNIST_FEMALE",
    "BASE_COLUMNS",
    "CORPORA",
    "CUE_FOLDERS",
    "DESCRIBED_LABELS",
    "EMOTIONS",
    "LABELS",
    "STATEMENTS",
    "Corpus",
    "Skip",
    "companion_paths",
    "corpus_summary",
    "cue_clip_path",
    "example_recordings",
    "get_corpus",
    "index_audiomnist",
    "index_corpus",
    "index_cues",
    "index_fsdd",
    "index_manifest",
    "index_ravdess",
    "main_label",
    "parse_ravdess_name",
    "read_audiomnist_meta",
    "read_cue_speakers",
    "read_fsdd_speakers",
    "sex_counts",
    "speakers_table",
]
