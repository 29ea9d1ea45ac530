"""The random floor: uniform noise as a "map". Every evaluation number of a real method has this to beat."""
from __future__ import annotations

import numpy as np

from . import _model
from .base import Explainer, register


@register
class RandomFloor(Explainer):
    """Maps of independent uniform noise in [0, 1), drawn from ``seed``; no model call.

    Parameters
    ----------
    seed : int
        The same seed gives the same maps for the same batch size.

    A method that does not beat this floor on a faithfulness metric tells nothing about
    the model that chance would not.
    """

    name = "random"
    bfloat16 = True  # computes nothing in the model's precision
    defaults = {"seed": 0}

    def _explain(self, x, targets):
        rng = np.random.default_rng(self.params["seed"])
        return rng.random((len(x), *_model.spatial_shape(self.model))).astype(np.float32), {}
