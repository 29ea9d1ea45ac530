"""The amplitude reference: the input itself as a map ("loud cells matter"), the AudioMNIST paper's baseline."""
from __future__ import annotations

import numpy as np

from . import _model
from ..errors import ParameterError
from .base import Explainer, register


@register
class Energy(Explainer):
    """The input's loudness as a map, summed over channels; no model call.

    ``of="level"`` (the default, for levels such as dB spectrograms): each cell's value above
    the input's quietest cell, ``x - min(x)``; after any increasing scaling the loudest cells
    rank first and silence is 0, so the map's top cells are the paper's "parts of largest
    amplitude". ``of="amplitude"`` (for waveforms, whose samples swing about 0): ``|x|``, so
    silence is 0 there too. It ignores the model: it must fail the randomisation sanity
    check, and a method that does no better than it explains the recording rather than the
    classifier.
    """

    name = "energy"
    bfloat16 = True  # computes nothing in the model's precision
    defaults = {"of": "level"}

    def _explain(self, x, targets):
        of = self.params["of"]
        if of == "amplitude":
            loud = np.abs(x)
        elif of == "level":
            flat = x.reshape(len(x), -1)
            loud = x - flat.min(axis=1).reshape(-1, *([1] * (x.ndim - 1)))
        else:
            raise ParameterError(f"energy: of={of!r} is not 'level' (dB inputs) or 'amplitude' (waveforms)")
        return _model.reduce_channels(np.asarray(loud, dtype=np.float32), self.model), {}
