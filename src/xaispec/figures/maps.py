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
