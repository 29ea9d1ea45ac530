"""SHAP values of tabular features (the emotion study's 128 mel bands): beeswarm and bar plots.

Draws what it is given. The beeswarm is drawn by shap through pyplot and closed before
it is returned; the bar plot is pyplot-free.
"""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from ..errors import ParameterError
from .canvas import finish


def mel_feature_names(n: int = 128) -> list[str]:
    """``["mel 0, 0 Hz", ..., "mel {n-1}, ... Hz"]``: each band's index and centre frequency
    (:func:`xaispec.audio.features.mel_band_centres`, the emotion study's 22,050-Hz mel bands)."""
    from ..audio.features import mel_band_centres

    return [f"mel {i}, {hz:.0f} Hz" for i, hz in enumerate(mel_band_centres(n))]


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
        return finish(fig, path)
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
    return finish(fig, path)
