"""What a corpus index holds, in a few numbers and rows: the facts the data chapter states,
and the recordings it plays as examples."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .base import Skip, main_label, speakers_table

__all__ = ["DESCRIBED_LABELS", "corpus_summary", "example_recordings", "sex_counts"]

#: the label columns a corpus summary names, in this order, when the index has them
DESCRIBED_LABELS = ("digit", "emotion", "intensity", "statement", "cue")


def sex_counts(sexes) -> str:
    """How many of each sex, most frequent first: ``"48 male, 12 female"``.

    Parameters
    ----------
    sexes : sequence or pandas.Series
        One sex per speaker (or participant).
    """
    return ", ".join(f"{n} {s}" for s, n in pd.Series(sexes).value_counts().items())


def corpus_summary(index: pd.DataFrame, skipped: list[Skip] | tuple = ()) -> dict:
    """The numbers the data chapter states about a corpus.

    Parameters
    ----------
    index : pandas.DataFrame
        A corpus index table.
    skipped : list of Skip
        The files left out when indexing.

    Returns
    -------
    dict
        ``recordings`` and ``speakers`` (ints), ``sexes`` (:func:`sex_counts` of the
        speakers), ``labels`` (the :data:`DESCRIBED_LABELS` the index has, comma separated)
        and ``skipped`` (how many files were left out).
    """
    speakers = speakers_table(index)
    return {"recordings": int(len(index)), "speakers": int(len(speakers)), "sexes": sex_counts(speakers["sex"]),
            "labels": ", ".join(c for c in DESCRIBED_LABELS if c in index.columns), "skipped": len(skipped)}


def example_recordings(index: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` recordings to play and show, alternating female and male speakers and walking
    through the values of the index's main label (:func:`~.base.main_label`).

    Example ``i`` is the first recording (in index order) by a speaker of sex
    ``("female", "male")[i % 2]`` with the ``i % k``-th of the ``k`` label values (sorted as
    text); when there is none, the index's first recording.

    Returns
    -------
    pandas.DataFrame
        The ``n`` rows of ``index`` (a row may repeat), with their index labels.
    """
    label = main_label(index.columns)
    values = sorted(index[label].unique(), key=str)
    picked = []
    for i in range(n):
        sex = ("female", "male")[i % 2]
        fits = np.flatnonzero(((index["sex"] == sex) & (index[label] == values[i % len(values)])).to_numpy())
        picked.append(int(fits[0]) if len(fits) else 0)
    return index.iloc[picked]
