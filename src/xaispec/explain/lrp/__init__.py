"""Layer-wise relevance propagation (Bach et al., 2015; Montavon et al., 2019) for Keras 3 models.

The package reads a trained model as a chain of float32 steps (:mod:`.network`), gives each
layer a rule (:mod:`.rules`) through a composite (:mod:`.composites`), and runs one compiled
pass per batch (:mod:`.propagate`). :class:`LRP` is the explainer registered as ``lrp``.
"""
from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from .. import _model
from ..base import Explainer, check_positive_int, register
from .composites import COMPOSITES, default_composite, resolve
from .network import read_network
from .propagate import build_pass
from .rules import RULES, Rule, parse_rule

__all__ = ["COMPOSITES", "LRP", "RULES", "Rule", "default_composite", "parse_rule", "read_network", "resolve"]


def _check_bounds(bounds, shape) -> tuple[np.ndarray, np.ndarray] | None:
    if bounds is None:
        return None
    try:
        low, high = (np.asarray(b, dtype=np.float32) for b in bounds)
        np.broadcast_to(low, shape), np.broadcast_to(high, shape)
    except (TypeError, ValueError):
        raise ParameterError(f"lrp: bounds={bounds!r} must be [low, high], numbers or arrays of the input's "
                             f"shape {shape}") from None
    if not np.all(np.isfinite(low)) or not np.all(np.isfinite(high)) or np.any(low >= high):
        raise ParameterError(f"lrp: bounds={bounds!r} must be finite with low < high")
    return low, high


@register
class LRP(Explainer):
    """Relevance of every input cell for the explained class's logit.

    Parameters
    ----------
    composite : str or dict
        ``auto`` (default: ``epsilon_gamma_box`` when ``bounds`` are given, else
        ``epsilon_plus_flat``), a name in :data:`COMPOSITES`, or a mapping from layer names to
        rules (``{"conv1": "flat", "base": "preset_a"}``).
    bounds : [low, high] or None
        The input's range in the model's input space (after the model's scaling), for the box
        rule: for dB spectrograms, the scaled values of -80 dB and 0 dB.
    batch_size : int

    ``maps`` (n, *spatial_shape) are signed (positive: evidence for the class) and, for the
    conserving rules, sum to the explained logit; ``extra["scores"]`` (n,) holds the logits,
    ``extra["sums"]`` (n, layers + 1) the relevance summed at the input of every layer and at
    the logits, and ``params["rules"]`` the rule each layer got.
    """

    name = "lrp"
    defaults = {"composite": "auto", "bounds": None, "batch_size": 32}
    resolves_targets = True

    def _check_params(self):
        check_positive_int(self.name, "batch_size", self.params["batch_size"])
        composite = self.params["composite"]
        if not isinstance(composite, (str, dict)):
            raise ParameterError(f"lrp: composite={composite!r} must be a composite name or a mapping of "
                                 "layer names to rules")
        self._bounds = _check_bounds(self.params["bounds"], _model.input_shape(self.model))
        self._steps = read_network(self.model)   # the weights as they are now
        self._pass = None
        self._rules = resolve(composite, self._steps, bounded=self._bounds is not None)
        if composite == "auto":
            self.params["composite"] = default_composite(self._bounds is not None)
        self.params["rules"] = {k: str(v) for k, v in self._rules.items()}
        if self._bounds is not None:
            self.params["bounds"] = [float(np.min(self._bounds[0])), float(np.max(self._bounds[1]))]

    def _explain(self, x, targets):
        if self._pass is None:   # compiled once per explainer, with the weights it read
            self._pass = build_pass(self._steps, self._rules, _model.input_shape(self.model), self._bounds)
        fn = self._pass
        maps, scores, used, sums = [], [], [], []
        bs = self.params["batch_size"]
        for i in range(0, len(x), bs):
            r, s, t, c = fn(x[i:i + bs], targets[i:i + bs].astype(np.int32))
            maps.append(r.numpy())
            scores.append(s.numpy())
            used.append(t.numpy())
            sums.append(c.numpy())
        _model.count(forward=len(x), backward=len(x))
        return (_model.reduce_channels(np.concatenate(maps), self.model),
                {"scores": np.concatenate(scores), "sums": np.concatenate(sums), "targets": np.concatenate(used)})
