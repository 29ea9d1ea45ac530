"""The amplitude reference: the input itself as a map ("loud cells matter"), the AudioMNIST paper's baseline."""
from __future__ import annotations

import numpy as np

from . import _model
from .base import Explainer, register


@register
class Energy(Explainer):
    """Each cell's value above the input's quietest cell: ``x - min(x)``, summed over channels; no model call.

    For a dB spectrogram (after any increasing scaling) the loudest cells rank first and
    silence is 0, so the map's top cells are the paper's "parts of largest amplitude". It
    ignores the model: it must fail the randomisation sanity check, and a method that does
    no better than it on faithfulness explains the recording rather than the classifier.
    """

    name = "energy"
    bfloat16 = True  # computes nothing in the model's precision
    defaults = {}

    def _explain(self, x, targets):
        flat = x.reshape(len(x), -1)
        above = x - flat.min(axis=1).reshape(-1, *([1] * (x.ndim - 1)))
        return _model.reduce_channels(np.asarray(above, dtype=np.float32), self.model), {}
