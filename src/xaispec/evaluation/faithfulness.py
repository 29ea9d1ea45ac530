"""Faithfulness: does removing what a map ranks high change the decision?

Deletion and insertion curves (Samek et al. 2017; Petsiuk et al. 2018), region perturbation
with AOPC in MoRF, LeRF and random order (Samek et al. 2017), faithfulness correlation
(Bhatt et al. 2020) and infidelity (Yeh et al. 2019), after the definitions in Quantus and
Captum, batched. ``p_c`` is the model's probability of the explained class; it is never
passed through a softmax again.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .base import Score, as_forward, baselines, check_batch, describe_baseline, rng_of
from .perturbation import ORDERS, area, cell_ranks, check_order, curves, region_ranks, thresholds


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name}={value!r} must be an integer >= 1")
    return int(value)


def _path(model, x, maps, targets, *, baseline, steps, insert, batch_size) -> Score:
    forward = as_forward(model, batch_size=batch_size)
    x, maps, targets = check_batch(x, maps, targets)
    base = baselines(x, baseline)
    counts = thresholds(int(np.prod(x.shape[1:])), _positive_int("steps", steps))
    before = forward.rows
    probs = curves(forward, x, base, cell_ranks(maps, "morf"), counts, insert=insert)
    p = probs[np.arange(len(x)), :, targets]
    axis = counts / counts[-1]
    name = "insertion_auc" if insert else "deletion_auc"
    return Score(name, area(p, axis), higher_is_better=insert, forward=forward.rows - before, curves=p, axis=axis,
                 params={"baseline": describe_baseline(baseline), "steps": int(len(counts) - 1), "order": "morf"})


def deletion(model, x, maps, targets, *, baseline, steps: int = 100, batch_size: int = 64) -> Score:
    """Deletion ("pixel flipping"): remove cells from the most relevant on, area under ``p_c``.

    Parameters
    ----------
    model : keras.Model, callable or Forward
    x, maps : np.ndarray, shape (n, *spatial_shape)
        Inputs in the model's input space and their attribution maps.
    targets : np.ndarray, shape (n,)
    baseline : float, "min" or np.ndarray
        The value of a removed cell (the silence floor).
    steps : int
        Curve points after the first; each removes ``1 / steps`` of the cells.

    Returns
    -------
    Score
        ``deletion_auc`` per sample (trapezoid over the share removed, in [0, 1]); lower is
        more faithful. ``curves`` (n, steps + 1) hold ``p_c`` after each step.
    """
    return _path(model, x, maps, targets, baseline=baseline, steps=steps, insert=False, batch_size=batch_size)


def insertion(model, x, maps, targets, *, baseline, steps: int = 100, batch_size: int = 64) -> Score:
    """Insertion: start from the all-baseline input and put cells back, most relevant first.

    Same parameters as :func:`deletion`; ``insertion_auc``, higher is more faithful.
    """
    return _path(model, x, maps, targets, baseline=baseline, steps=steps, insert=True, batch_size=batch_size)


def region_perturbation(model, x, maps, targets, *, baseline, patch=8, regions: int = 100, order: str = "morf",
                        seed: int = 0, batch_size: int = 64) -> Score:
    """Region perturbation: remove patches one after the other in ``order``; AOPC.

    The input is tiled into non-overlapping ``patch`` x ``patch`` regions, ranked by their
    summed attribution. ``AOPC = 1/(L+1) * sum_{k=0..L} [p_c(x^0) - p_c(x^k)]`` with ``x^k``
    the input after ``k`` regions were removed, ``L = min(regions, number of regions)``.

    Returns
    -------
    Score
        ``aopc_<order>`` per sample; higher is more faithful for MoRF, lower for LeRF, and
        the random order is the floor. ``curves`` (n, L + 1) hold ``p_c``.
    """
    forward = as_forward(model, batch_size=batch_size)
    x, maps, targets = check_batch(x, maps, targets)
    check_order(order)
    ranks, n_regions = region_ranks(maps, patch, order, seed=seed)
    counts = np.arange(min(_positive_int("regions", regions), n_regions) + 1)
    before = forward.rows
    p = curves(forward, x, baselines(x, baseline), ranks, counts)[np.arange(len(x)), :, targets]
    aopc = (p[:, :1] - p).mean(axis=1)
    better = {"morf": True, "lerf": False, "random": None}[order]
    return Score(f"aopc_{order}", aopc, higher_is_better=better, forward=forward.rows - before, curves=p,
                 axis=counts.astype(np.float64),
                 params={"baseline": describe_baseline(baseline), "patch": patch, "regions": int(counts[-1]),
                         "order": order, "seed": seed if order == "random" else None})


def aopc(model, x, maps, targets, *, baseline, patch=8, regions: int = 100, seed: int = 0,
         batch_size: int = 64) -> dict[str, Score]:
    """Region perturbation in every order of :data:`ORDERS`, plus ``aopc_morf_minus_lerf`` (higher is better)."""
    forward = as_forward(model, batch_size=batch_size)
    out = {f"aopc_{o}": region_perturbation(forward, x, maps, targets, baseline=baseline, patch=patch,
                                            regions=regions, order=o, seed=seed) for o in ORDERS}
    morf, lerf = out["aopc_morf"], out["aopc_lerf"]
    out["aopc_morf_minus_lerf"] = Score("aopc_morf_minus_lerf", morf.values - lerf.values, higher_is_better=True,
                                        params=dict(morf.params, order="morf-lerf"), forward=0)
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def faithfulness_correlation(model, x, maps, targets, *, baseline, subsets: int = 100, subset_share: float = 0.05,
                             seed: int = 0, batch_size: int = 64) -> Score:
    """Faithfulness correlation: Pearson's r between ``sum(a[S])`` and ``p_c(x) - p_c(x with S removed)``.

    ``subsets`` random sets ``S`` of ``subset_share`` of the cells are drawn per sample from
    ``seed``. A constant map (or a model that does not move) has no correlation: NaN.
    """
    forward = as_forward(model, batch_size=batch_size)
    x, maps, targets = check_batch(x, maps, targets)
    subsets = _positive_int("subsets", subsets)
    if not 0 < subset_share < 1:
        raise ParameterError(f"subset_share={subset_share!r} must be in (0, 1)")
    base, rng = baselines(x, baseline), rng_of(seed)
    cells = int(np.prod(x.shape[1:]))
    size = max(1, int(round(subset_share * cells)))
    before, values = forward.rows, []
    for i in range(len(x)):
        chosen = np.zeros((subsets, cells), dtype=bool)
        for s in range(subsets):
            chosen[s, rng.choice(cells, size, replace=False)] = True
        chosen = chosen.reshape(subsets, *x.shape[1:])
        probs = forward(np.concatenate([x[i:i + 1], np.where(chosen, base[i][None], x[i][None])]))[:, targets[i]]
        values.append(_pearson((maps[i][None] * chosen).reshape(subsets, -1).sum(axis=1), probs[0] - probs[1:]))
    return Score("faithfulness_correlation", values, higher_is_better=True, forward=forward.rows - before,
                 params={"baseline": describe_baseline(baseline), "subsets": subsets, "subset_share": subset_share,
                         "seed": seed})


def infidelity(model, x, maps, targets, *, noise: float = 0.1, draws: int = 16, seed: int = 0,
               batch_size: int = 64) -> Score:
    """Infidelity: ``E_I[(beta I.a - (p_c(x) - p_c(x - I)))^2]`` over Gaussian perturbations ``I``.

    ``I`` has a standard deviation of ``noise`` times each input's value range; ``beta``
    is the optimal scale of the map (Captum's ``normalize=True``), so maps of any scale
    compare. Lower is more faithful; an exact linear attribution scores 0.
    """
    forward = as_forward(model, batch_size=batch_size)
    x, maps, targets = check_batch(x, maps, targets)
    draws = _positive_int("draws", draws)
    if draws < 2:  # the optimal scale fits a single perturbation exactly: infidelity 0 for any map
        raise ParameterError(f"infidelity needs draws >= 2, got draws={draws}")
    if not noise > 0:
        raise ParameterError(f"noise={noise!r} must be > 0")
    rng, before, values = rng_of(seed), forward.rows, []
    for i in range(len(x)):
        spread = float(np.ptp(x[i])) or 1.0
        pert = rng.normal(0.0, noise * spread, size=(draws, *x.shape[1:])).astype(np.float32)
        probs = forward(np.concatenate([x[i:i + 1], x[i][None] - pert]))[:, targets[i]]
        change = probs[0] - probs[1:]
        dot = (pert * maps[i][None]).reshape(draws, -1).sum(axis=1)
        beta = (dot * change).mean() / (dot * dot).mean() if (dot * dot).mean() > 0 else 0.0
        values.append(float(((beta * dot - change) ** 2).mean()))
    return Score("infidelity", values, higher_is_better=False, forward=forward.rows - before,
                 params={"noise": noise, "draws": draws, "seed": seed, "normalize": True})
