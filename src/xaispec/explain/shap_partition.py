"""SHAP partition values of spectrogram images with ``shap.maskers.Image`` (blur or inpainting)."""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from . import _model
from ._shap import quiet
from .base import Explainer, check_positive_int, register


@register
class ShapPartition(Explainer):
    """``shap.Explainer(f, shap.maskers.Image(mask, shape), algorithm="partition")``, per sample.

    Parameters
    ----------
    mask : str
        ``"blur(8,8)"`` (default), ``"inpaint_telea"`` or ``"inpaint_ns"``.
    max_evals : int
        Model evaluations per sample (300).
    batch_size : int
        Masked images per model call.

    The batch is scaled to [0, 255] for the masker (OpenCV's inpainting works on 8-bit
    images) and back for the model; partition values are deterministic.
    """

    name = "shap_partition"
    defaults = {"mask": "blur(8,8)", "max_evals": 300, "batch_size": 64}

    def _check_params(self):
        check_positive_int(self.name, "max_evals", self.params["max_evals"], minimum=3)
        check_positive_int(self.name, "batch_size", self.params["batch_size"])
        mask = self.params["mask"]
        if not (isinstance(mask, str) and (mask in ("inpaint_telea", "inpaint_ns")
                                           or (mask.startswith("blur(") and mask.endswith(")")))):
            raise ParameterError(f"{self.name}: mask={mask!r} must be 'blur(kx,ky)', 'inpaint_telea' or 'inpaint_ns'")
        shape = _model.input_shape(self.model)
        if len(shape) != 3:
            raise ParameterError(f"{self.name}: needs (frequency, time, channels) inputs, the model takes {shape}")

    def _explain(self, x, targets):
        import shap

        shape = _model.input_shape(self.model)
        lo, hi = float(x.min()), float(x.max())
        span = hi - lo if hi > lo else 1.0

        def f(u):
            # the masker's 0..255 image back to the model's scale, predicted in batches
            return _model.predict(self.model, np.asarray(u, dtype=np.float32) / 255.0 * span + lo,
                                  batch_size=self.params["batch_size"])

        masker = shap.maskers.Image(self.params["mask"], shape)
        u = (x - lo) / span * 255.0
        maps = np.zeros((len(x), *shape[:-1]), dtype=np.float32)
        base = np.zeros(len(x), dtype=np.float32)
        with quiet():
            explainer = shap.Explainer(f, masker, algorithm="partition")
            for i in range(len(x)):
                # one call per sample: the explained output differs per sample
                result = explainer(u[i:i + 1], max_evals=self.params["max_evals"],
                                   batch_size=self.params["batch_size"], outputs=[int(targets[i])], silent=True)
                maps[i] = np.asarray(result.values).reshape(*shape, -1)[..., 0].sum(axis=-1)
                base[i] = np.asarray(result.base_values).reshape(-1)[0]
        return maps, {"base_values": base}
