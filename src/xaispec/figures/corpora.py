"""Figures of a corpus: recordings per speaker, and feature profiles per label.

Draws what it is given; computes nothing (the tables come from
:func:`xaispec.data.corpora.speakers_table` and :func:`xaispec.study.corpus.band_means`).
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from .canvas import finish

#: the bar colour of each sex (others are grey)
SEX_COLORS = {"female": "tab:red", "male": "tab:blue"}


def speaker_bars(speakers: pd.DataFrame, *, path=None) -> Figure:
    """Bars of the recordings per speaker, coloured by sex (red female, blue male).

    Parameters
    ----------
    speakers : pandas.DataFrame
        Columns ``speaker``, ``sex`` and ``recordings``, one row per bar.
    path : path, optional
        Where to save the PNG.
    """
    fig = Figure(figsize=(6, 2.6), layout="constrained")
    ax = fig.subplots()
    ax.bar(speakers["speaker"].astype(str), speakers["recordings"],
           color=[SEX_COLORS.get(s, "tab:gray") for s in speakers["sex"]])
    ax.set(xlabel="speaker", ylabel="recordings")
    ax.tick_params(axis="x", labelrotation=90, labelsize=6)
    return finish(fig, path)


def band_profiles(profiles: pd.DataFrame, *, ylabel: str = "log10 mean power", path=None) -> Figure:
    """One line per row of ``profiles`` over its columns (mel bands), labelled by the row's name.

    Parameters
    ----------
    profiles : pandas.DataFrame
        One row per label value, one column per band.
    ylabel : str
    path : path, optional
    """
    fig = Figure(figsize=(6.5, 2.8), layout="constrained")
    ax = fig.subplots()
    for value, row in profiles.iterrows():
        ax.plot(row.to_numpy(), lw=1, label=str(value))
    ax.set(xlabel="mel band", ylabel=ylabel)
    ax.legend(fontsize=7, ncol=4)
    return finish(fig, path)
