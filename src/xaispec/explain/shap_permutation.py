"""SHAP permutation values of tabular features (the emotion study's ``shap.Explainer``)."""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from . import _model
from ._shap import ShapExplainer, global_seed, quiet
from .base import check_positive_int, register


@register
class ShapPermutation(ShapExplainer):
    """``shap.Explainer(f, shap.maskers.Independent(background), algorithm="permutation")``.

    Parameters
    ----------
    max_evals : int
        Model evaluations per sample (shap's default 500); at least 2 * n_features + 1.
    background, n_background, seed, batch_size
        See :class:`~xaispec.explain._shap.ShapExplainer`.

    ``extra``: ``values`` (n, *spatial, C) with every class, ``base_values`` (n, C).
    """

    name = "shap_permutation"
    defaults = {"background": None, "n_background": 16, "max_evals": 500, "seed": 0, "batch_size": 64}

    def _check_params(self):
        super()._check_params()
        n_features = int(np.prod(_model.input_shape(self.model)))
        if check_positive_int(self.name, "max_evals", self.params["max_evals"]) < 2 * n_features + 1:
            raise ParameterError(f"{self.name}: max_evals={self.params['max_evals']!r} must be an integer >= "
                                 f"{2 * n_features + 1} (2 x {n_features} features + 1)")

    def _explain(self, x, targets):
        import shap

        p = self.params
        bg = self.background().reshape(-1, x[0].size)
        with quiet(), global_seed(p["seed"]):
            explainer = shap.Explainer(self.flat_predict, shap.maskers.Independent(bg, max_samples=len(bg)),
                                       algorithm="permutation", seed=p["seed"])
            result = explainer(x.reshape(len(x), -1), max_evals=p["max_evals"], batch_size=p["batch_size"], silent=True)
        maps, values = self.layout(np.asarray(result.values).reshape(*x.shape, -1), targets)
        return maps, {"values": values, "base_values": np.asarray(result.base_values, dtype=np.float32)}
