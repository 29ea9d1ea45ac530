"""DeepSHAP with ``shap.DeepExplainer`` (DeepLIFT rules averaged over a background)."""
from __future__ import annotations

import numpy as np

from . import _model
from ._shap import ShapExplainer, quiet
from .base import check_choice, register


@register
class ShapDeep(ShapExplainer):
    """DeepSHAP values of every class; ``maps`` holds the target's.

    Parameters
    ----------
    output : {"probs", "logits"}
    check_additivity : bool
        Let shap check that values sum to ``f(x) - E[f(background)]``.
    background, n_background, seed, batch_size
        See :class:`~xaispec.explain._shap.ShapExplainer`.

    ``extra``: ``values`` (n, *spatial, C), ``expected_value`` (C,).
    """

    name = "shap_deep"
    defaults = {"background": None, "n_background": 16, "output": "probs", "check_additivity": True,
                "seed": 0, "batch_size": 64}

    def _check_params(self):
        super()._check_params()
        check_choice(self.name, "output", self.params["output"], _model.OUTPUTS)

    def _explain(self, x, targets):
        import shap

        net = _model.output_model(self.model, self.params["output"])
        with quiet():
            bg = self.background()
            explainer = shap.DeepExplainer(net, bg)
            values = explainer.shap_values(x, check_additivity=self.params["check_additivity"])
        values = np.asarray(values).reshape(*x.shape, -1)
        # DeepLIFT runs each sample beside every background row, once per class
        rows = len(x) * len(bg) * values.shape[-1]
        _model.count(forward=rows, backward=rows)
        maps, values = self.layout(values, targets)
        return maps, {"values": values, "expected_value": np.asarray(explainer.expected_value, dtype=np.float32)}
