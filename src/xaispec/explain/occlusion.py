"""Occlusion (Zeiler & Fergus, 2014): the drop in the target's probability when a patch is hidden."""
from __future__ import annotations

import numpy as np

from . import _model, masking
from .base import Explainer, check_choice, check_positive_int, register


@register
class Occlusion(Explainer):
    """Time-frequency patches slide over the input; each cell gets the mean drop of the patches covering it.

    Parameters
    ----------
    patch : int or tuple
        Patch size (frequency rows, time columns), or (cells,) for 1D inputs; default 16.
    stride : int, tuple or None
        Step between patches; None = half the patch.
    baseline : {"min", "mean", "zero"}, float or np.ndarray
        Value of hidden cells; ``"min"`` is silence for a dB spectrogram.
    output : {"probs", "logits"}
        Drop in probability (default) or in the pre-softmax score.
    batch_size : int
        Occluded copies per prediction call.

    ``extra["n_patches"]`` is the number of patches per sample, ``extra["score"]`` (n,)
    the unoccluded score.
    """

    name = "occlusion"
    defaults = {"patch": 16, "stride": None, "baseline": "min", "output": "probs", "batch_size": 64}

    def _check_params(self):
        check_choice(self.name, "output", self.params["output"], _model.OUTPUTS)
        check_positive_int(self.name, "batch_size", self.params["batch_size"])
        if isinstance(self.params["baseline"], str):
            check_choice(self.name, "baseline", self.params["baseline"], masking.BASELINES)
        # fail early on a bad patch/stride, before any prediction
        self._slices = masking.patch_slices(_model.spatial_shape(self.model), self.params["patch"], self.params["stride"])

    def _explain(self, x, targets):
        spatial = _model.spatial_shape(self.model)
        net = _model.output_model(self.model, self.params["output"])
        bs = self.params["batch_size"]
        base_scores = _model.scores(self.model, x, targets, output=self.params["output"], batch_size=bs)
        maps = np.zeros((len(x), *spatial), dtype=np.float32)
        counts = np.zeros(spatial, dtype=np.float32)
        for index in self._slices:
            counts[index] += 1
        for i, xi in enumerate(x):
            for start in range(0, len(self._slices), bs):
                chunk = self._slices[start:start + bs]
                # one prediction call per chunk of occluded copies
                out = _model.predict(net, masking.occlude(xi, chunk, self.params["baseline"]), batch_size=bs)
                drops = base_scores[i] - out[:, targets[i]]
                for index, drop in zip(chunk, drops):
                    maps[(i, *index)] += drop
        # average over the patches covering each cell (borders are covered less often)
        return maps / counts, {"n_patches": len(self._slices), "score": base_scores.astype(np.float32)}
