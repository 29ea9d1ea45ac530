"""Where figures go: the studies' folder and file names (``plots/xai/<method>/...``)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ParameterError

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
    "lrp": "LRP",
    "random": "Random",
    "energy": "Energy",
}
SAMPLE_KINDS = ("waveform", "spectrograms")


def method_name(method: str) -> str:
    """A method's name in figures, captions and folders: ``Grad-CAM`` for ``gradcam``
    (:data:`METHOD_DIRS`); a method not listed keeps its own name."""
    return METHOD_DIRS.get(method, method)


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
