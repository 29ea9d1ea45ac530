"""Kernel SHAP of tabular features with a k-means summary of the background."""
from __future__ import annotations

import numpy as np

from ._shap import ShapExplainer, global_seed, quiet
from .base import check_positive_int, register


@register
class ShapKernel(ShapExplainer):
    """``shap.KernelExplainer(f, shap.kmeans(background, k)).shap_values(x, nsamples=...)``.

    Parameters
    ----------
    nsamples : int
        Coalitions per sample (128, as the study).
    k : int
        K-means centres summarising the background (used as it is when it has <= k rows).
    background, n_background, seed, batch_size
        See :class:`~xaispec.explain._shap.ShapExplainer`; ``n_background`` defaults to 100
        here since the k-means summary keeps the cost down.

    ``extra``: ``values`` (n, *spatial, C), ``expected_value`` (C,).
    """

    name = "shap_kernel"
    defaults = {"background": None, "n_background": 100, "k": 10, "nsamples": 128, "seed": 0, "batch_size": 64}

    def _check_params(self):
        super()._check_params()
        check_positive_int(self.name, "nsamples", self.params["nsamples"])
        check_positive_int(self.name, "k", self.params["k"])

    def _explain(self, x, targets):
        import shap

        p = self.params
        bg = self.background().reshape(-1, x[0].size)
        with quiet(), global_seed(p["seed"]):
            summary = shap.kmeans(bg, p["k"]) if len(bg) > p["k"] else bg
            explainer = shap.KernelExplainer(self.flat_predict, summary)
            values = explainer.shap_values(x.reshape(len(x), -1), nsamples=p["nsamples"], silent=True)
        values = np.stack(values, axis=-1) if isinstance(values, list) else np.asarray(values)
        maps, values = self.layout(values.reshape(*x.shape, -1), targets)
        return maps, {"values": values, "expected_value": np.asarray(explainer.expected_value, dtype=np.float32)}
