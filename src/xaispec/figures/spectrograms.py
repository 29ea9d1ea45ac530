"""Figures: waveforms, spectrograms, explanation overlays and SHAP feature plots.

This module only draws what it is given; it never computes an attribution. Figures are
built as :class:`matplotlib.figure.Figure` objects outside pyplot (nothing to close,
whatever the backend), except the shap beeswarm, which shap draws through pyplot and
which is closed before it is returned. Every function returns its Figure and, given a
``path``, writes a PNG atomically (temporary file, then rename).

Spectrogram axes follow the AudioMNIST study's STFT: row ``k`` is ``k * sr / nperseg`` Hz
and column ``j`` is frame ``j + first_frame``, centred at ``(j + first_frame) * hop / sr`` s.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure

from .._io import atomic_path
from ..errors import ParameterError
from ..audio.features import ALEXNET_SR, NOVERLAP, NPERSEG

HOP = NPERSEG - NOVERLAP  # 35 samples
FIRST_FRAME = 2

#: method name (see xaispec.explain.METHODS) -> folder under plots/xai/
METHOD_DIRS = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "lime": "LIME",
    "shap_gradient": "SHAP-Gradient",
    "shap_partition": "SHAP-Partition",
    "integrated_gradients": "Integrated-Gradients",
    "smoothgrad": "SmoothGrad",
    "occlusion": "Occlusion",
    "saliency": "Saliency",
    "shap_deep": "SHAP-Deep",
    "shap_permutation": "SHAP-Permutation",
    "shap_kernel": "SHAP-Kernel",
}
SAMPLE_KINDS = ("waveform", "spectrograms")


# -- saving ----------------------------------------------------------------------------------
def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    return Path(path)


def _finish(fig: Figure, path) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


def _axes(ax, figsize=(6, 4)):
    """``(figure, axes)``: the given axes' figure, or a new pyplot-free figure."""
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


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
    fig, ax = _axes(ax, (6, 2.5))
    ax.plot(np.arange(len(y)) / sr, y, lw=0.6, color="tab:blue")
    ax.set(xlabel="time (s)", ylabel="amplitude (scaled)" if scale else "amplitude",
           xlim=(0, max(len(y), 1) / sr))
    if title:
        ax.set_title(title)
    return _finish(fig, path)


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
    fig, ax = _axes(ax)
    extent = extent or stft_extent(db.shape, sr=sr, hop=hop, nperseg=nperseg, first_frame=first_frame)
    im = ax.imshow(db, origin="lower", aspect="auto", cmap=cmap, extent=extent, interpolation="nearest")
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    if colorbar:
        fig.colorbar(im, ax=ax, label="dB")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


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
    fig, ax = _axes(None)
    ax.imshow(image, origin="lower", aspect="auto", extent=stft_extent(db.shape, **geometry))
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    fig.colorbar(ScalarMappable(Normalize(0, 1), colormaps["jet"]), ax=ax, label="Grad-CAM")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


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
    fig, ax = _axes(None)
    ax.imshow(image, origin="lower", aspect="auto", extent=stft_extent(db.shape, **geometry))
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


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
    return _finish(fig, path)


# -- SHAP values of tabular features ---------------------------------------------------------
def mel_feature_names(n: int = 128) -> list[str]:
    """``["mel 0", ..., "mel {n-1}"]``."""
    return [f"mel {i}" for i in range(n)]


def _class_values(values: np.ndarray, class_index: int | None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        return values
    if values.ndim != 3:
        raise ParameterError(f"SHAP values must have shape (n, features) or (n, features, classes), got {values.shape}")
    if class_index is None or not 0 <= class_index < values.shape[2]:
        raise ParameterError(f"class_index={class_index!r} must select one of {values.shape[2]} classes")
    return values[:, :, class_index]


def shap_beeswarm(values: np.ndarray, features: np.ndarray, *, class_index: int | None = None,
                  feature_names: list[str] | None = None, max_display: int = 20, title: str | None = None,
                  path=None) -> Figure:
    """shap's summary (beeswarm) plot of one class, coloured by feature value.

    Parameters
    ----------
    values : np.ndarray, shape (n, F) or (n, F, C)
    features : np.ndarray, shape (n, F)
        The explained feature rows.
    class_index : int
        Required for 3D values.
    feature_names : list of str, optional
        Default ``"mel 0"`` .. ``"mel F-1"``.
    """
    import matplotlib.pyplot as plt
    import shap

    v = _class_values(values, class_index)
    features = np.asarray(features, dtype=np.float64).reshape(v.shape)
    names = feature_names or mel_feature_names(v.shape[1])
    fig = plt.figure()
    try:
        shap.summary_plot(v, features, feature_names=names, max_display=max_display, show=False,
                          rng=np.random.default_rng(0))
        fig = plt.gcf()
        if title:
            fig.axes[0].set_title(title)
        return _finish(fig, path)
    finally:
        plt.close(fig)


def shap_bar(values: np.ndarray, *, class_index: int | None = None, class_names: list[str] | None = None,
             feature_names: list[str] | None = None, max_display: int = 10, title: str | None = None,
             path=None) -> Figure:
    """Mean |SHAP value| of the top features, for one class or stacked over all classes.

    Parameters
    ----------
    values : np.ndarray, shape (n, F) or (n, F, C)
    class_index : int or None
        One class's bars; None with 3D values: bars of the mean |value| per class stacked,
        ranked by their sum (shap's multi-class summary bar).
    class_names : list of str, optional
    max_display : int
        Features shown (10, as the study's bar plot).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2 or class_index is not None:
        per_class = np.abs(_class_values(values, class_index)).mean(axis=0)[:, None]
        labels = [class_names[class_index] if class_names and class_index is not None else "mean |SHAP value|"]
    else:
        if values.ndim != 3:
            raise ParameterError(f"SHAP values must have shape (n, features[, classes]), got {values.shape}")
        per_class = np.abs(values).mean(axis=0)  # (F, C)
        labels = class_names or [f"class {c}" for c in range(values.shape[2])]
    names = feature_names or mel_feature_names(per_class.shape[0])
    order = np.argsort(-per_class.sum(axis=1), kind="stable")[:max_display][::-1]
    fig = Figure(figsize=(6, 0.35 * len(order) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    left = np.zeros(len(order))
    colors = colormaps["tab10" if per_class.shape[1] <= 10 else "tab20"]
    for c in range(per_class.shape[1]):
        ax.barh(np.arange(len(order)), per_class[order, c], left=left, label=labels[c], color=colors(c % colors.N))
        left += per_class[order, c]
    ax.set_yticks(np.arange(len(order)), [names[i] for i in order])
    ax.set_xlabel("mean |SHAP value|")
    if per_class.shape[1] > 1:
        ax.legend(loc="lower right", fontsize="small")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


# -- file names ------------------------------------------------------------------------------
def _participant(p) -> str:
    return f"{p:02d}" if isinstance(p, (int, np.integer)) else str(p)


def figure_path(root: str | os.PathLike, method: str, label=None, fold=None, participant=None, sex=None,
                digit=None, rep=None, predicted=None) -> Path:
    """The study's file name of a sample's figure.

    ``root/plots/xai/{method_dir}/label_{label}_split_{fold}/{participant}/{sex}_{digit}_{participant}_{rep}_predicted_{predicted}.png``
    for an explanation method (a name of ``METHOD_DIRS`` or one of its folder names), and
    ``root/plots/{waveform|spectrograms}/{participant}/{sex}_{digit}_{participant}_{rep}.png``
    for ``method="waveform"`` or ``"spectrograms"`` (``label``, ``fold``, ``predicted`` unused).
    Integer participants are written with two digits ("01").
    """
    if participant is None or sex is None or digit is None or rep is None:
        raise ParameterError("figure_path needs participant, sex, digit and rep")
    p = _participant(participant)
    stem = f"{sex}_{digit}_{p}_{rep}"
    if method in SAMPLE_KINDS:
        return Path(root) / "plots" / method / p / f"{stem}.png"
    if method in METHOD_DIRS:
        folder = METHOD_DIRS[method]
    elif method in METHOD_DIRS.values():
        folder = method
    else:
        valid = [*SAMPLE_KINDS, *(f"{k} ({v})" for k, v in METHOD_DIRS.items())]
        raise ParameterError(f"unknown figure kind {method!r}; valid: {', '.join(valid)}")
    if label is None or fold is None or predicted is None:
        raise ParameterError(f"figure_path for {method!r} needs label, fold and predicted")
    return Path(root) / "plots" / "xai" / folder / f"label_{label}_split_{fold}" / p / f"{stem}_predicted_{predicted}.png"
