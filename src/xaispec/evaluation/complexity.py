"""Complexity of a map: how concentrated its evidence is (no model needed).

Sparseness is the Gini index of ``|a|`` (Chalasani et al. 2020; Quantus ``Sparseness``): 1
when all mass sits in one cell, 0 when it is spread evenly. Complexity is the entropy of
``|a| / sum |a|`` (Bhatt et al. 2020): 0 for one cell, ``log(cells)`` for a uniform map.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .base import Score


def _flat_abs(maps) -> np.ndarray:
    a = np.abs(np.nan_to_num(np.asarray(maps, dtype=np.float64)))
    if a.ndim < 2 or len(a) == 0:
        raise ParameterError(f"maps of shape {a.shape} must be a non-empty batch (n, *spatial_shape)")
    return a.reshape(len(a), -1)


def sparseness(maps) -> Score:
    """Gini index of ``|a|`` per map, in [0, 1]; an all-zero map has none (NaN)."""
    a = np.sort(_flat_abs(maps), axis=1)
    m = a.shape[1]
    total = a.sum(axis=1)
    k = np.arange(1, m + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        gini = ((2 * k - m - 1) * a).sum(axis=1) / (m * total)
    gini = np.where(total > 0, gini * m / (m - 1) if m > 1 else 0.0, np.nan)
    return Score("sparseness", gini, higher_is_better=True, params={"of": "|a|", "normalised": "m / (m - 1)"})


def complexity(maps) -> Score:
    """Entropy (nats) of ``|a| / sum |a|`` per map; an all-zero map has none (NaN)."""
    a = _flat_abs(maps)
    total = a.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = a / total
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return Score("complexity", np.where(total[:, 0] > 0, h, np.nan), higher_is_better=False,
                 params={"of": "|a| / sum |a|", "unit": "nats"})
