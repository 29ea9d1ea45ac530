"""SmoothGrad (Smilkov et al., 2017): vanilla gradients averaged over noisy copies of the input."""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from . import _model
from .base import Explainer, check_choice, check_positive_int, register


@register
class SmoothGrad(Explainer):
    """Mean input gradient over ``n_samples`` copies with Gaussian noise.

    Parameters
    ----------
    n_samples : int
        Noisy copies per input (16).
    noise_level : float
        Noise standard deviation as a fraction of each input's range, max - min (0.1).
    square : bool
        Average squared gradients (SmoothGrad-Squared) instead of signed ones.
    seed : int
        Seed of the noise, drawn per sample from the seed and the sample's values: same seed,
        same map for a sample in any batch.
    output : {"logits", "probs"}
    batch_size : int

    ``extra["sigma"]`` (n,) holds the noise standard deviation used per sample.
    """

    name = "smoothgrad"
    bfloat16 = True  # bench/RESULTS.md: its bfloat16 maps agree with float32's
    defaults = {"n_samples": 16, "noise_level": 0.1, "square": False, "seed": 0, "output": "logits",
                "batch_size": 64}

    def _check_params(self):
        check_positive_int(self.name, "n_samples", self.params["n_samples"])
        check_choice(self.name, "output", self.params["output"], _model.OUTPUTS)
        check_positive_int(self.name, "batch_size", self.params["batch_size"])
        if not float(self.params["noise_level"]) >= 0:
            raise ParameterError(f"{self.name}: noise_level={self.params['noise_level']!r} must be >= 0")

    def _explain(self, x, targets):
        import zlib

        k = self.params["n_samples"]
        # noise scaled to each input's own range, so dB and standardised inputs behave alike
        axes = tuple(range(1, x.ndim))
        sigma = self.params["noise_level"] * (x.max(axis=axes) - x.min(axis=axes))
        # each sample's noise drawn from the seed and the sample itself: the same map in any batch
        noise = np.stack([np.random.default_rng([self.params["seed"], zlib.crc32(np.ascontiguousarray(xi).tobytes())])
                          .standard_normal((k, *x.shape[1:])) for xi in x]).astype(np.float32)
        noisy = (x[:, None] + sigma.reshape(-1, 1, *[1] * (x.ndim - 1)) * noise).reshape(-1, *x.shape[1:])
        # all noisy copies of all samples go through the batched gradient in chunks
        grads, _ = _model.gradients(self.model, noisy, np.repeat(targets, k), output=self.params["output"],
                                    batch_size=self.params["batch_size"])
        grads = grads.reshape(len(x), k, *x.shape[1:])
        mean = (grads ** 2 if self.params["square"] else grads).mean(axis=1)
        return _model.reduce_channels(mean, self.model), {"sigma": sigma.astype(np.float32)}
