"""Figures of one clip: its waveform, spectrogram and explanation overlays.

This module only draws what it is given; it never computes an attribution. Figures are
built as :class:`matplotlib.figure.Figure` objects outside pyplot (nothing to close,
whatever the backend). Every function returns its Figure and, given a
``path``, writes a PNG atomically (temporary file, then rename).

Spectrogram axes follow the AudioMNIST study's STFT: row ``k`` is ``k * sr / nperseg`` Hz
and column ``j`` is frame ``j + first_frame``, centred at ``(j + first_frame) * hop / sr`` s.
"""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure

from ..errors import ParameterError
from ..audio.features import ALEXNET_SR, FIRST_FRAME, HOP, NPERSEG
from .canvas import finish, new_axes


# -- basic views -----------------------------------------------------------------------------
def stft_extent(shape: tuple[int, int], *, sr: int = ALEXNET_SR, hop: int = HOP, nperseg: int = NPERSEG,
                first_frame: int = FIRST_FRAME) -> tuple[float, float, float, float]:
    """``(t0, t1, f0, f1)``: outer cell edges in seconds and Hz of an (F, T) STFT image."""
    df, dt = sr / nperseg, hop / sr
    rows, cols = shape
    return ((first_frame - 0.5) * dt, (first_frame + cols - 0.5) * dt, -0.5 * df, (rows - 0.5) * df)


def waveform(y: np.ndarray, sr: int, *, scale: bool = False, ax=None, title: str | None = None,
             path=None) -> Figure:
    """Plot a waveform against time in seconds.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    sr : int
    scale : bool
        Min-max scale the amplitude to [-1, 1] first (as the study's option).
    ax : matplotlib Axes, optional
    title : str, optional
    path : path, optional
        Where to save the PNG.
    """
    y = np.asarray(y, dtype=np.float64)
    if scale and y.size:
        lo, hi = y.min(), y.max()
        y = 2 * (y - lo) / (hi - lo) - 1 if hi > lo else np.zeros_like(y)
    fig, ax = new_axes(ax, (6, 2.5))
    ax.plot(np.arange(len(y)) / sr, y, lw=0.6, color="tab:blue")
    ax.set(xlabel="time (s)", ylabel="amplitude (scaled)" if scale else "amplitude",
           xlim=(0, max(len(y), 1) / sr))
    if title:
        ax.set_title(title)
    return finish(fig, path)


def spectrogram(db: np.ndarray, *, sr: int = ALEXNET_SR, hop: int = HOP, nperseg: int = NPERSEG,
                first_frame: int = FIRST_FRAME, extent=None, ax=None, cmap: str = "magma",
                title: str | None = None, colorbar: bool = True, path=None) -> Figure:
    """Plot a dB spectrogram with time (s) and frequency (Hz) axes and a colour bar.

    Parameters
    ----------
    db : np.ndarray, shape (F, T)
        Rows are frequency bins (low at the bottom), columns frames.
    sr, hop, nperseg, first_frame : int
        STFT geometry giving the axes (defaults: the AudioMNIST study's).
    extent : (t0, t1, f0, f1), optional
        Explicit axis limits, e.g. for a mel image.
    """
    db = np.asarray(db)
    if db.ndim != 2:
        raise ParameterError(f"spectrogram needs a 2D (frequency, time) array, got shape {db.shape}")
    fig, ax = new_axes(ax)
    extent = extent or stft_extent(db.shape, sr=sr, hop=hop, nperseg=nperseg, first_frame=first_frame)
    im = ax.imshow(db, origin="lower", aspect="auto", cmap=cmap, extent=extent, interpolation="nearest")
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    if colorbar:
        fig.colorbar(im, ax=ax, label="dB")
    if title:
        ax.set_title(title)
    return finish(fig, path)


def _unit(a: np.ndarray) -> np.ndarray:
    """``a`` min-max scaled to [0, 1] (zeros if constant)."""
    a = np.asarray(a, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


# -- the study's overlays --------------------------------------------------------------------
def overlay_study_gradcam(db: np.ndarray, heatmap: np.ndarray, *, alpha: float = 0.4, title: str | None = None,
                          path=None, **geometry) -> Figure:
    """The study's Grad-CAM picture: a "jet" heatmap at ``alpha`` over the gray spectrogram.

    As the keras-io recipe: ``jet(heatmap) * alpha + gray``, rescaled to [0, 1].

    Parameters
    ----------
    db : np.ndarray, shape (F, T)
    heatmap : np.ndarray, shape (F, T)
        Grad-CAM map in [0, 1] aligned with ``db``.
    """
    db, heatmap = np.asarray(db), np.asarray(heatmap)
    if db.shape != heatmap.shape:
        raise ParameterError(f"heatmap of shape {heatmap.shape} does not match the spectrogram {db.shape}")
    gray = np.repeat(_unit(db)[..., None], 3, axis=-1)
    jet = colormaps["jet"](np.clip(heatmap, 0, 1))[..., :3]
    image = jet * alpha + gray
    image /= max(float(image.max()), 1e-12)
    fig, ax = new_axes(None)
    ax.imshow(image, origin="lower", aspect="auto", extent=stft_extent(db.shape, **geometry))
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    fig.colorbar(ScalarMappable(Normalize(0, 1), colormaps["jet"]), ax=ax, label="Grad-CAM")
    if title:
        ax.set_title(title)
    return finish(fig, path)


def overlay_study_lime(db: np.ndarray, mask: np.ndarray, *, title: str | None = None, path=None,
                       **geometry) -> Figure:
    """The study's LIME picture: region boundaries drawn on the gray spectrogram as RGB.

    Parameters
    ----------
    db : np.ndarray, shape (F, T)
    mask : np.ndarray, shape (F, T), int
        LIME's mask: +1 positive, -1 negative regions, 0 elsewhere (``extra["mask"]``).
    """
    from skimage.segmentation import mark_boundaries

    db, mask = np.asarray(db), np.asarray(mask)
    if db.shape != mask.shape:
        raise ParameterError(f"mask of shape {mask.shape} does not match the spectrogram {db.shape}")
    image = mark_boundaries(np.repeat(_unit(db)[..., None], 3, axis=-1), mask.astype(int))
    fig, ax = new_axes(None)
    ax.imshow(image, origin="lower", aspect="auto", extent=stft_extent(db.shape, **geometry))
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    if title:
        ax.set_title(title)
    return finish(fig, path)


# -- the better panel ------------------------------------------------------------------------
def explanation_panel(y: np.ndarray | None, db: np.ndarray, attribution: np.ndarray, *, sr: int = ALEXNET_SR,
                      signed: bool | None = None, title: str | None = None, alpha: float = 0.8,
                      path=None, **geometry) -> Figure:
    """The waveform above the spectrogram with the attribution overlaid, on one time axis.

    Parameters
    ----------
    y : np.ndarray, shape (n,), or None
        The waveform the spectrogram was computed from (None: no waveform row).
    db : np.ndarray, shape (F, T)
    attribution : np.ndarray, shape (F, T)
    sr : int
    signed : bool or None
        Diverging 'RdBu_r' centred at 0 for signed maps, sequential 'inferno' for
        non-negative ones; None decides from the map (any negative value: signed).
    alpha : float
        Opacity of the strongest attribution; weaker cells are more transparent, so the
        spectrogram shows through.
    geometry
        ``hop``, ``nperseg``, ``first_frame`` as :func:`stft_extent`.
    """
    db, attribution = np.asarray(db), np.asarray(attribution, dtype=np.float64)
    if db.shape != attribution.shape or db.ndim != 2:
        raise ParameterError(f"attribution of shape {attribution.shape} does not match the spectrogram {db.shape}")
    if signed is None:
        signed = bool(np.nanmin(attribution) < 0)
    top = float(np.nanmax(np.abs(attribution))) or 1.0
    norm = Normalize(-top, top) if signed else Normalize(0, top)
    cmap = colormaps["RdBu_r" if signed else "inferno"]
    extent = stft_extent(db.shape, sr=sr, **geometry)

    fig = Figure(figsize=(7, 6 if y is not None else 4.5), layout="constrained")
    rows = 2 if y is not None else 1
    grid = fig.add_gridspec(rows, 3, height_ratios=[1, 3][-rows:], width_ratios=[30, 1, 1])
    ax = fig.add_subplot(grid[rows - 1, 0])
    if y is not None:
        ax_w = fig.add_subplot(grid[0, 0], sharex=ax)
        ax_w.plot(np.arange(len(y)) / sr, y, lw=0.6, color="0.2")
        ax_w.set(ylabel="amplitude")
        ax_w.tick_params(labelbottom=False)
    # gray spectrogram underneath, attribution on top with opacity growing with |value|
    im = ax.imshow(db, origin="lower", aspect="auto", cmap="gray", extent=extent, interpolation="nearest")
    strength = np.clip(np.abs(np.nan_to_num(attribution)) / top, 0, 1)
    ax.imshow(np.nan_to_num(attribution), origin="lower", aspect="auto", cmap=cmap, norm=norm, extent=extent,
              alpha=alpha * strength, interpolation="nearest")
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)", xlim=(0, max(extent[1], len(y) / sr if y is not None else 0)),
           ylim=(0, extent[3]))
    fig.colorbar(ScalarMappable(norm, cmap), cax=fig.add_subplot(grid[rows - 1, 1]), label="attribution")
    fig.colorbar(im, cax=fig.add_subplot(grid[rows - 1, 2]), label="dB")
    if title:
        fig.suptitle(title)
    return finish(fig, path)
