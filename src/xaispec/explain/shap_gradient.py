"""SHAP expected gradients with ``shap.GradientExplainer`` (images and 1D features)."""
from __future__ import annotations

import numpy as np

from . import _model
from ._shap import ShapExplainer, quiet
from .base import check_choice, check_positive_int, register


@register
class ShapGradient(ShapExplainer):
    """Expected gradients: gradients at random points between background samples and the input.

    Parameters
    ----------
    nsamples : int
        Points per input and class (shap's default 200).
    output : {"probs", "logits"}
        Explain probabilities (default, as the studies) or pre-softmax scores.
    all_classes : bool or None
        Also compute every class's values into ``extra["values"]`` (n, *spatial, C);
        None = only for 1D inputs (cheap); otherwise only the target class is computed.
    background, n_background, seed, batch_size
        See :class:`~xaispec.explain._shap.ShapExplainer`.
    """

    name = "shap_gradient"
    bfloat16 = True  # bench/RESULTS.md: its bfloat16 maps agree with float32's
    defaults = {"background": None, "n_background": 16, "nsamples": 200, "output": "probs", "all_classes": None,
                "seed": 0, "batch_size": 50}

    def _check_params(self):
        super()._check_params()
        check_positive_int(self.name, "nsamples", self.params["nsamples"])
        check_choice(self.name, "output", self.params["output"], _model.OUTPUTS)

    def _explain(self, x, targets):
        import shap

        p = self.params
        net = _model.output_model(self.model, p["output"])
        all_classes = p["all_classes"] if p["all_classes"] is not None else len(_model.spatial_shape(self.model)) == 1
        with quiet():
            explainer = shap.GradientExplainer(net, self.background(), batch_size=p["batch_size"])
            if all_classes:
                values = explainer.shap_values(x, nsamples=p["nsamples"], rseed=p["seed"])
            else:
                # "custom" ranks: only each sample's own target class is computed
                values, _ = explainer.shap_values(x, nsamples=p["nsamples"], rseed=p["seed"],
                                                  ranked_outputs=targets.reshape(-1, 1), output_rank_order="custom")
        values = np.asarray(values).reshape(*x.shape, -1)
        # each class computed takes nsamples interpolated rows forward and back per sample
        rows = len(x) * p["nsamples"] * values.shape[-1]
        _model.count(forward=rows, backward=rows)
        if all_classes:
            maps, values = self.layout(values, targets)
            return maps, {"values": values}
        return self.layout(values, np.zeros_like(targets))[0], {}
