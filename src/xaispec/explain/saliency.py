"""Vanilla gradients ("saliency"): the derivative of the target score with respect to the input."""
from __future__ import annotations

from . import _model
from .base import Explainer, check_choice, check_positive_int, register


@register
class Saliency(Explainer):
    """Input gradient of the target class score, summed over the channel axis.

    Parameters
    ----------
    output : {"logits", "probs"}
        Differentiate the pre-softmax score (default, no saturation) or the probability.
    batch_size : int
        Samples per gradient call.

    ``maps`` (n, *spatial_shape) are signed: for a linear model with linear logits they
    are the target class's weights.
    """

    name = "saliency"
    bfloat16 = True  # bench/RESULTS.md: its bfloat16 maps agree with float32's
    defaults = {"output": "logits", "batch_size": 64}

    def _check_params(self):
        check_choice(self.name, "output", self.params["output"], _model.OUTPUTS)
        check_positive_int(self.name, "batch_size", self.params["batch_size"])

    def _explain(self, x, targets):
        # one batched tape per chunk of samples
        grads, _ = _model.gradients(self.model, x, targets, output=self.params["output"],
                                    batch_size=self.params["batch_size"])
        return _model.reduce_channels(grads, self.model), {}
