"""Robustness: max-sensitivity (Yeh et al. 2019), how much a map moves under small input noise."""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .base import Score, check_batch, rng_of
from .sanity import Recompute, explain_work


def max_sensitivity(model, x, maps, targets, recompute: Recompute, *, radius: float, draws: int = 10,
                    seed: int = 0) -> Score:
    """``max_d ||a(x + d) - a(x)|| / ||a(x)||`` over ``draws`` uniform perturbations ``|d| <= radius``.

    Parameters
    ----------
    model : keras.Model
    x, maps : np.ndarray, shape (n, *spatial_shape)
        Inputs and the maps of the method for them.
    targets : np.ndarray, shape (n,)
        The explained classes, kept for the perturbed inputs.
    recompute : callable
        ``recompute(model, x, targets) -> maps``: the method, with its parameters.
    radius : float
        Largest change of a cell, in the model's input space (e.g. 2 dB after the scaling).

    Returns
    -------
    Score
        ``max_sensitivity`` per sample (lower is more robust; NaN for an all-zero map).
    """
    x, maps, targets = check_batch(x, maps, targets)
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ParameterError(f"draws={draws!r} must be an integer >= 1")
    if not radius > 0:
        raise ParameterError(f"radius={radius!r} must be > 0")
    rng, before = rng_of(seed), explain_work()
    norm = np.linalg.norm(maps.reshape(len(x), -1), axis=1)
    worst = np.zeros(len(x))
    for _ in range(draws):
        noisy = x + rng.uniform(-radius, radius, size=x.shape).astype(np.float32)
        moved = np.linalg.norm((np.asarray(recompute(model, noisy, targets), dtype=np.float64) - maps)
                               .reshape(len(x), -1), axis=1)
        worst = np.maximum(worst, moved)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(norm > 0, worst / norm, np.nan)
    return Score("max_sensitivity", values, higher_is_better=False, forward=explain_work() - before,
                 params={"radius": radius, "draws": draws, "seed": seed, "noise": "uniform", "norm": "frobenius"})
