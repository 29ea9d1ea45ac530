"""Inputs beside their explanation maps, as small image panels.

Draws what it is given; computes nothing. A map with negative cells is drawn in a
diverging colour map centred on zero (blue against, red for the class), a map without in
``inferno`` from zero.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .canvas import finish


def input_map_pairs(inputs, maps, titles, map_title: str, *, path=None) -> Figure:
    """One row of panels: each input (``origin="lower"``, magma) followed by its map.

    Parameters
    ----------
    inputs : sequence of 2-D arrays
    maps : sequence of 2-D arrays
        One map per input, of the input's shape.
    titles : sequence of str
        Each input's panel title.
    map_title : str
        The title of every map panel (the method's name).
    path : path, optional
    """
    n = len(inputs)
    fig = Figure(figsize=(3.75 * n, 2.1), layout="constrained")
    axes = fig.subplots(1, 2 * n)
    for i in range(n):
        axes[2 * i].imshow(inputs[i], origin="lower", cmap="magma")
        axes[2 * i].set_title(titles[i], fontsize=9)
        m = np.asarray(maps[i])
        top = float(np.abs(m).max()) or 1.0
        signed = bool((m < 0).any())
        axes[2 * i + 1].imshow(m, origin="lower", cmap="RdBu_r" if signed else "inferno",
                               vmin=-top if signed else 0, vmax=top)
        axes[2 * i + 1].set_title(map_title, fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return finish(fig, path)


def map_grid(inputs, maps: dict, row_titles, *, path=None) -> Figure:
    """Rows of panels: each input, then its map under every entry of ``maps``.

    Parameters
    ----------
    inputs : sequence of 2-D arrays
        One spectrogram per row (``origin="lower"``, magma).
    maps : dict of str -> array, shape (rows, *input shape)
        Column title -> the maps of every row; each map is drawn on its own symmetric scale
        (diverging colours when it has negative cells).
    row_titles : sequence of str
    path : path, optional
    """
    n, k = len(inputs), len(maps)
    fig = Figure(figsize=(1.9 * (k + 1), 1.9 * n + 0.4), layout="constrained")
    axes = np.asarray(fig.subplots(n, k + 1)).reshape(n, k + 1)
    for i in range(n):
        axes[i, 0].imshow(inputs[i], origin="lower", cmap="magma")
        axes[i, 0].set_title(row_titles[i], fontsize=8)
        for j, (title, m) in enumerate(maps.items(), start=1):
            m = np.asarray(m[i])
            top = float(np.abs(m).max()) or 1.0
            signed = bool((m < 0).any())
            axes[i, j].imshow(m, origin="lower", cmap="RdBu_r" if signed else "inferno",
                              vmin=-top if signed else 0, vmax=top)
            if i == 0:
                axes[i, j].set_title(title, fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return finish(fig, path)
