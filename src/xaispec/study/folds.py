"""Who is in which part of a run's folds: the speaker-disjoint folds per label, and the size of
the emotion study's own random split, with what it leaks."""
from __future__ import annotations

import pandas as pd

from ..models.runs import Run


def read_folds(run: Run) -> pd.DataFrame:
    """The run's ``splits/folds.csv``: one row per label, fold, part and speaker, with the
    speaker's sex and recordings (speaker and fold read as text)."""
    return pd.read_csv(run.dir / "splits" / "folds.csv", dtype={"speaker": str, "fold": str})


def fold_parts(folds: pd.DataFrame) -> pd.DataFrame:
    """The speakers of each part of each fold.

    Parameters
    ----------
    folds : pandas.DataFrame
        :func:`read_folds`: columns ``label``, ``fold``, ``part``, ``speaker``, ``sex`` and
        ``samples``.

    Returns
    -------
    pandas.DataFrame
        One row per (label, fold, part), sorted by them, with ``speakers`` (their ids,
        sorted, space separated), ``n_speakers``, ``female``, ``male`` (counts) and
        ``recordings`` (the sum of ``samples``).
    """
    return (folds.groupby(["label", "fold", "part"])
            .agg(speakers=("speaker", lambda s: " ".join(sorted(s))), n_speakers=("speaker", "size"),
                 female=("sex", lambda s: int((s == "female").sum())), male=("sex", lambda s: int((s == "male").sum())),
                 recordings=("samples", "sum"))
            .reset_index())


def random_split_sizes(run: Run) -> dict[str, int]:
    """Rows in each part of the run's random (leaky) splits, ``{"train": n, "test": m}``;
    empty when the run has none (only emotion corpora have one)."""
    return {p.stem.rsplit("_", 1)[1]: len(p.read_text().split())
            for p in sorted((run.dir / "splits").glob("*_random_*.txt"))}


def leakage_note(sizes: dict[str, int]) -> str:
    """The data chapter's paragraph on the emotion study's random split (Markdown), or ``""``
    without one.

    Parameters
    ----------
    sizes : dict
        :func:`random_split_sizes`.
    """
    if not sizes:
        return ""
    return ("The emotion study's own protocol, a random 75/25 split of the rows *with* their noisy copies, "
            f"is kept to show its leakage: {sizes.get('train', 0)} training and {sizes.get('test', 0)} test rows, "
            "with copies of the same recording on both sides.")
