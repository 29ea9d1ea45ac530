"""Figures of the explanation metrics: curves per method, MoRF against LeRF, agreement. Draws only."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .canvas import finish
from .paths import method_name

#: line styles that keep the two floors apart from the methods
FLOOR_STYLE = {"random": dict(color="0.5", linestyle=":"), "energy": dict(color="0.2", linestyle="--")}


def method_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], *, title: str, xlabel: str, ylabel: str,
                  path=None) -> Figure:
    """One line per method: the mean curve over samples with a band of +- one standard error.

    Parameters
    ----------
    curves : dict
        Method -> ``(axis (points,), curves (n, points))``.
    """
    fig = Figure(figsize=(6.2, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for method, (axis, c) in curves.items():
        c = np.asarray(c, dtype=np.float64)
        with warnings.catch_warnings():  # a point without any finite value is a gap in the line
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(c, axis=0)
            se = np.nanstd(c, axis=0) / np.sqrt(max(1, len(c)))
        style = FLOOR_STYLE.get(method, {})
        line, = ax.plot(axis, mean, label=f"{method_name(method)} (n={len(c)})", **style)
        ax.fill_between(axis, mean - se, mean + se, color=line.get_color(), alpha=0.12)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncols=2)
    return finish(fig, path)


def morf_lerf(values: pd.DataFrame, *, title: str, path=None) -> Figure:
    """AOPC in MoRF against LeRF order, one point per method: faithful maps sit far below the diagonal.

    Parameters
    ----------
    values : pd.DataFrame
        Index: methods; columns ``aopc_morf`` and ``aopc_lerf`` (means over samples).
    """
    fig = Figure(figsize=(4.6, 4.2), layout="constrained")
    ax = fig.add_subplot()
    lo = float(np.nanmin(values[["aopc_morf", "aopc_lerf"]].to_numpy())) if len(values) else 0.0
    hi = float(np.nanmax(values[["aopc_morf", "aopc_lerf"]].to_numpy())) if len(values) else 1.0
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.7", linewidth=1)
    for method, row in values.iterrows():
        ax.scatter(row["aopc_lerf"], row["aopc_morf"], color=FLOOR_STYLE.get(method, {}).get("color"))
        ax.annotate(method_name(str(method)), (row["aopc_lerf"], row["aopc_morf"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("AOPC, least relevant first (LeRF)")
    ax.set_ylabel("AOPC, most relevant first (MoRF)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return finish(fig, path)


def agreement_heatmap(table: pd.DataFrame, *, title: str, path=None) -> Figure:
    """A method x method table of rank correlations with its numbers."""
    values = table.to_numpy(dtype=float)
    n = len(table)
    fig = Figure(figsize=(1.6 + 0.55 * n, 1.2 + 0.5 * n), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1)
    names = [method_name(str(m)) for m in table.index]
    ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(n), names, fontsize=7)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if abs(values[i, j]) > 0.6 else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="Spearman rank correlation")
    return finish(fig, path)


def map_rows(rows: dict[str, np.ndarray], columns: list[str], *, title: str, path=None) -> Figure:
    """One row of maps per method, one column per stage (e.g. the trained model, then each layer randomised).

    Parameters
    ----------
    rows : dict
        Method -> maps (stages, F, T) or (stages, F); each map is drawn scaled to its own
        range of ``|a|``, low frequencies at the bottom.
    columns : list of str
        A title per stage.
    """
    n, k = len(rows), len(columns)
    fig = Figure(figsize=(1.5 * k + 1.2, 1.45 * n + 0.6), layout="constrained")
    axes = fig.subplots(max(n, 1), k, squeeze=False)
    for i, (method, maps) in enumerate(rows.items()):
        for j in range(k):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(maps):
                a = np.abs(np.nan_to_num(np.asarray(maps[j], dtype=np.float64)))
                a = a if a.ndim == 2 else a[:, None]
                top = a.max()
                ax.imshow(a / top if top > 0 else a, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1)
            if i == 0:
                ax.set_title(columns[j], fontsize=7)
        axes[i, 0].set_ylabel(method_name(method), fontsize=7)
    fig.suptitle(title, fontsize=9)
    return finish(fig, path)


def maps_with_truth(inputs: np.ndarray, maps: dict[str, np.ndarray], masks: np.ndarray, titles: list[str], *,
                    title: str, path=None) -> Figure:
    """One row per sample: its input, then every method's map, the ground truth outlined on each.

    Parameters
    ----------
    inputs : np.ndarray, shape (n, F, T)
        The spectrograms (dB), low frequencies at the bottom.
    maps : dict
        Method -> maps (n, F, T); each drawn as its positive part scaled to its own maximum.
    masks : np.ndarray, shape (n, F, T), bool
        The ground-truth cells, outlined in cyan.
    titles : list of str
        A label per sample (row).
    """
    n, k = len(inputs), len(maps) + 1
    fig = Figure(figsize=(1.45 * k + 0.8, 1.45 * n + 0.6), layout="constrained")
    axes = fig.subplots(max(n, 1), k, squeeze=False)
    for i in range(n):
        panels = [("input", inputs[i], "gray")] + [(m, np.clip(np.nan_to_num(a[i]), 0, None), "magma")
                                                   for m, a in maps.items()]
        for j, (name, image, cmap) in enumerate(panels):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            top = float(np.max(image)) if name != "input" else None
            shown = image / top if top else image
            ax.imshow(shown, origin="lower", aspect="auto", cmap=cmap,
                      **({} if name == "input" else {"vmin": 0, "vmax": 1}))
            if masks[i].any():
                ax.contour(masks[i].astype(float), levels=[0.5], colors="cyan", linewidths=0.6)
            if i == 0:
                ax.set_title("input" if name == "input" else method_name(name), fontsize=7)
        axes[i, 0].set_ylabel(titles[i], fontsize=6)
    fig.suptitle(title, fontsize=9)
    return finish(fig, path)


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """The runs of True in a 1-D mask, as (first, last + 1) index pairs."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def time_maps_with_truth(waveforms: np.ndarray, profiles: dict[str, np.ndarray], masks: np.ndarray,
                         titles: list[str], *, seconds: np.ndarray, title: str, path=None) -> Figure:
    """One row per sample: its waveform, then every method's positive relevance per time column,
    the ground-truth columns shaded on each.

    Parameters
    ----------
    waveforms : np.ndarray, shape (n, L)
        The model inputs (one second).
    profiles : dict
        Method -> (n, C) positive relevance per column, each row drawn scaled to its maximum.
    masks : np.ndarray, shape (n, C), bool
        The columns that hold the cue, shaded in cyan.
    titles : list of str
        A label per sample (row).
    seconds : np.ndarray, shape (C,)
        Each column's centre in seconds.
    """
    n, k = len(waveforms), len(profiles) + 1
    fig = Figure(figsize=(1.7 * k + 0.8, 1.1 * n + 0.6), layout="constrained")
    axes = fig.subplots(max(n, 1), k, squeeze=False, sharex=True)
    length = waveforms.shape[1] if n else 1
    step = float(seconds[1] - seconds[0]) if len(seconds) > 1 else 1.0
    for i in range(n):
        t = np.linspace(0, seconds[-1] + step / 2, length) if len(seconds) else np.arange(length)
        panels = [("input", t, waveforms[i])] + [(m, seconds, np.nan_to_num(a[i])) for m, a in profiles.items()]
        for j, (name, x, y) in enumerate(panels):
            ax = axes[i, j]
            for a, b in _spans(masks[i]):
                ax.axvspan(seconds[a] - step / 2, seconds[b - 1] + step / 2, color="cyan", alpha=0.35, lw=0)
            if name == "input":
                ax.plot(x, y, color="0.3", lw=0.4)
            else:
                top = float(np.max(y)) or 1.0
                ax.fill_between(x, y / top, color="C3", lw=0)
                ax.set_ylim(0, 1.05)
            ax.set_yticks([])
            if i == 0:
                ax.set_title("input" if name == "input" else method_name(name), fontsize=7)
            if i < n - 1:
                ax.tick_params(labelbottom=False)
            else:
                ax.tick_params(labelsize=6)
        axes[i, 0].set_ylabel(titles[i], fontsize=6)
    fig.suptitle(title, fontsize=9)
    return finish(fig, path)
