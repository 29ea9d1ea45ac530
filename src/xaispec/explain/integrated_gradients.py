"""Integrated Gradients (Sundararajan et al., 2017) along the straight path from a baseline."""
from __future__ import annotations

import numpy as np

from . import _model, masking
from .base import Explainer, check_choice, check_positive_int, register


@register
class IntegratedGradients(Explainer):
    """(x - baseline) times the path integral of the gradient, by numerical quadrature.

    Parameters
    ----------
    baseline : {"min", "mean", "zero"}, float or np.ndarray
        ``"min"`` (default): each input's minimum, i.e. silence for a dB spectrogram;
        an array must broadcast to one input.
    steps : int
        Quadrature points on the path (32); with the two ends, ``steps + 2`` gradients per
        input, all computed in batches.
    rule : {"gausslegendre", "trapezoid"}
        Quadrature rule (see :func:`quadrature`).
    output : {"logits", "probs"}
    batch_size : int

    The attributions of a sample sum to ``f(x) - f(baseline)`` up to the quadrature error,
    recorded as ``extra["delta"]`` (n,) with ``extra["score"]`` and ``extra["baseline_score"]``.
    """

    name = "integrated_gradients"
    bfloat16 = True  # bench/RESULTS.md: its bfloat16 maps agree with float32's
    defaults = {"baseline": "min", "steps": 32, "rule": "gausslegendre", "output": "logits", "batch_size": 64}
    rules = ("gausslegendre", "trapezoid")

    def _check_params(self):
        check_positive_int(self.name, "steps", self.params["steps"])
        check_choice(self.name, "rule", self.params["rule"], self.rules)
        check_choice(self.name, "output", self.params["output"], _model.OUTPUTS)
        check_positive_int(self.name, "batch_size", self.params["batch_size"])
        if isinstance(self.params["baseline"], str):
            check_choice(self.name, "baseline", self.params["baseline"], masking.BASELINES)

    def _explain(self, x, targets):
        m = self.params["steps"]
        alphas, weights = quadrature(m, self.params["rule"])
        # the path's ends (weight 0) give f(baseline) and f(x) from the same batch
        alphas, weights = np.concatenate(([0.0], alphas, [1.0])), np.concatenate(([0.0], weights, [0.0]))
        k = len(alphas)
        base = np.stack([np.broadcast_to(masking.baseline_value(xi, self.params["baseline"]), xi.shape) for xi in x])
        base = base.astype(np.float32)
        # every point of every path, batched together through one compiled gradient
        shape = (1, k) + (1,) * (x.ndim - 1)
        path = (base[:, None] + alphas.reshape(shape).astype(np.float32) * (x - base)[:, None]).reshape(-1, *x.shape[1:])
        grads, scores = _model.gradients(self.model, path, np.repeat(targets, k), output=self.params["output"],
                                         batch_size=self.params["batch_size"])
        grads = grads.reshape(len(x), k, *x.shape[1:])
        scores = scores.reshape(len(x), k)
        # path integral of the gradient times the straight path's direction
        attr = (x - base) * (weights.reshape(shape) * grads).sum(axis=1)
        delta = attr.reshape(len(x), -1).sum(axis=1) - (scores[:, -1] - scores[:, 0])
        extra = {"delta": delta.astype(np.float32), "score": scores[:, -1], "baseline_score": scores[:, 0]}
        return _model.reduce_channels(attr, self.model), extra


def quadrature(steps: int, rule: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Nodes in [0, 1] and weights (summing to 1) of a ``steps``-point rule for the path integral.

    ``"gausslegendre"`` (Captum's default) is far more accurate for smooth scores such as
    probabilities; ``"trapezoid"`` uses ``steps + 1`` evenly spaced points including the ends.
    """
    if rule == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        return (nodes + 1) / 2, weights / 2
    alphas = np.linspace(0.0, 1.0, steps + 1)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2
    return alphas, weights
