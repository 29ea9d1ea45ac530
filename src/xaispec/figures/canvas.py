"""Where every figure is drawn and saved: pyplot-free figures, PNGs written atomically."""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from .._io import atomic_path


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically.

    A figure in constrained layout is saved as laid out; any other is cropped to what it draws
    (``bbox_inches="tight"``, which costs a second drawing).
    """
    tight = not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    return Path(path)


def finish(fig: Figure, path) -> Figure:
    """Write ``fig`` to ``path`` when one is given; return ``fig``."""
    if path is not None:
        save_figure(fig, path)
    return fig


def new_axes(ax, figsize=(6, 4)):
    """``(figure, axes)``: the given axes' figure, or a new pyplot-free figure."""
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()
