"""A waveform model's relevance drawn over the waveform, and where two models' evidence lies in time
and frequency.

Draws what it is given; computes nothing. Relevance uses the book's diverging colours (blue
against the class, red for it) on a scale symmetric about zero.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..audio.features import ALEXNET_SR, NPERSEG
from .canvas import finish
from .spectrograms import FIRST_FRAME, HOP, spectrogram


def relevance_waveforms(waveforms, relevances, spectrograms, titles, *, sr: int = ALEXNET_SR,
                        path=None) -> Figure:
    """Columns of samples: each waveform with its samples coloured by relevance, the
    spectrogram of the same second below it for orientation.

    Parameters
    ----------
    waveforms : sequence of arrays, shape (n,)
    relevances : sequence of arrays, shape (n,)
        One per waveform.
    spectrograms : sequence of arrays, shape (F, T)
        dB spectrograms in the AudioMNIST study's geometry, one per waveform.
    titles : sequence of str
    sr : int
    path : path, optional
    """
    from matplotlib.collections import LineCollection

    k = len(waveforms)
    fig = Figure(figsize=(3.6 * k, 4.2), layout="constrained")
    axes = np.asarray(fig.subplots(2, k, sharex="col")).reshape(2, k)
    for j in range(k):
        y = np.asarray(waveforms[j], dtype=np.float64)
        r = np.asarray(relevances[j], dtype=np.float64)
        t = np.arange(len(y)) / sr
        top = float(np.abs(r).max()) or 1.0
        points = np.stack([t, y], axis=1)
        segments = np.stack([points[:-1], points[1:]], axis=1)
        lines = LineCollection(segments, cmap="RdBu_r", linewidths=0.7)
        lines.set_array((r[:-1] + r[1:]) / 2)
        lines.set_clim(-top, top)
        ax = axes[0, j]
        ax.add_collection(lines)
        span = float(np.abs(y).max()) or 1.0
        ax.set(xlim=(0, len(y) / sr), ylim=(-1.05 * span, 1.05 * span))
        ax.set_title(titles[j], fontsize=9)
        ax.set_yticks([])
        if j == k - 1:
            fig.colorbar(lines, ax=ax, label="relevance")
        spectrogram(spectrograms[j], ax=axes[1, j], colorbar=j == k - 1)
        axes[1, j].set_xlim(0, len(y) / sr)
        if j:
            axes[1, j].set_ylabel("")
    return finish(fig, path)


def evidence_profiles(time: dict, frequency: dict, *, title: str = "", path=None) -> Figure:
    """Two panels: each model's share of positive evidence per spectrogram column (time) and
    per row (frequency).

    Parameters
    ----------
    time, frequency : dict of str -> array, shape (227,)
        Model name -> its profile (:mod:`xaispec.evaluation.profiles`).
    title : str
    path : path, optional
    """
    fig = Figure(figsize=(8.5, 2.6), layout="constrained")
    ax_t, ax_f = fig.subplots(1, 2)
    for name, p in time.items():
        ax_t.plot((np.arange(len(p)) + FIRST_FRAME) * HOP / ALEXNET_SR, p, lw=1.0, label=name)
    for name, p in frequency.items():
        ax_f.plot(np.arange(len(p)) * ALEXNET_SR / NPERSEG, p, lw=1.0, label=name)
    ax_t.set(xlabel="time (s)", ylabel="share of positive evidence", title="where in time")
    ax_f.set(xlabel="frequency (Hz)", title="where in frequency")
    ax_t.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return finish(fig, path)
