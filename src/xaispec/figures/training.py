"""Figures of training and evaluation. Draws what it is given; computes nothing."""
from __future__ import annotations

import os

import pandas as pd
from matplotlib.figure import Figure

from .canvas import save_figure


def _save(fig: Figure, path: str | os.PathLike | None) -> Figure:
    if path is not None:
        save_figure(fig, path, dpi=110)
    return fig


def curve(history: pd.DataFrame, metric: str, *, title: str, path=None):
    """Training vs validation ``metric`` ("loss" or "accuracy") per epoch."""
    fig = Figure(figsize=(5.5, 3.6))   # pyplot-free: nothing stays open in a long run
    ax = fig.add_subplot()
    epochs = history["epoch"] + 1
    ax.plot(epochs, history[metric], marker="o", ms=3, label="train")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], marker="o", ms=3, label="validate")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def confusion(matrix: pd.DataFrame, *, title: str, percent: bool = False, path=None):
    """Heatmap of a confusion matrix (rows actual, columns predicted) with its numbers."""
    values = matrix.to_numpy(dtype=float)
    n = len(matrix)
    fig = Figure(figsize=(1.2 + 0.45 * n, 1.0 + 0.42 * n))
    ax = fig.add_subplot()
    im = ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(n), matrix.columns, rotation=45, ha="right")
    ax.set_yticks(range(n), matrix.index)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    top = values.max() if values.size else 0
    for i in range(n):
        for j in range(n):
            text = f"{values[i, j]:.0f}%" if percent else f"{values[i, j]:g}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if values[i, j] > top / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _save(fig, path)
