"""Removing cells in an order a map gives, batched: the engine under deletion, insertion, regions and manipulation.

An order is held as a *rank* per cell (0 = removed first). A curve point removes every cell
whose rank is below its threshold; all points of a sample (and of several samples) are
built as copies at once and sent to the model in full batches, instead of one perturbed
copy and one model call per step.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .base import Forward, rng_of

#: orders a map can give: most relevant first, least relevant first, and the random floor
ORDERS = ("morf", "lerf", "random")
#: at most this many perturbed copies are held in memory for one model call
MAX_COPIES = 256


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise ParameterError(f"order={order!r} is not one of {list(ORDERS)}")
    return order


def rank_scores(scores: np.ndarray, order: str, rng: np.random.Generator) -> np.ndarray:
    """Ranks (0 = first) of a batch of flat scores (n, m) in ``order``; ties in index order, NaN last."""
    check_order(order)
    ranks = np.empty(scores.shape, dtype=np.int64)
    for i, s in enumerate(scores):
        if order == "random":
            idx = rng.permutation(len(s))
        else:
            key = np.nan_to_num(-s if order == "morf" else s, nan=np.inf)
            idx = np.argsort(key, kind="stable")
        ranks[i, idx] = np.arange(len(s))
    return ranks


def cell_ranks(maps: np.ndarray, order: str = "morf", *, seed=0) -> np.ndarray:
    """The removal rank of every cell, shape ``maps.shape`` (n, *spatial_shape), int64.

    ``"morf"``: highest attribution first; ``"lerf"``: lowest first; ``"random"``: a random
    permutation drawn from ``seed`` (the same for every method: the floor).
    """
    n = len(maps)
    return rank_scores(np.asarray(maps, dtype=np.float64).reshape(n, -1), order, rng_of(seed)).reshape(maps.shape)


def region_grid(shape: tuple[int, ...], patch) -> np.ndarray:
    """Region id of every cell: non-overlapping patches of ``patch`` cells per axis (the last ones smaller)."""
    sizes = (patch,) * len(shape) if np.isscalar(patch) else tuple(patch)
    if len(sizes) != len(shape) or any(int(p) < 1 for p in sizes):
        raise ParameterError(f"patch={patch!r} must be a positive integer or {len(shape)} of them")
    idx = [np.arange(s) // int(p) for s, p in zip(shape, sizes)]
    counts = [int(np.ceil(s / int(p))) for s, p in zip(shape, sizes)]
    grid = np.zeros(shape, dtype=np.int64)
    for axis, (i, later) in enumerate(zip(idx, [int(np.prod(counts[k + 1:])) for k in range(len(shape))])):
        grid = grid + (i * later).reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return grid


def region_ranks(maps: np.ndarray, patch=8, order: str = "morf", *, seed=0) -> tuple[np.ndarray, int]:
    """Every cell's rank of its region, regions ranked by their summed attribution.

    Returns
    -------
    ranks : np.ndarray, shape ``maps.shape``, int64
        The rank of the cell's region (0 = the region removed first).
    n_regions : int
    """
    maps = np.asarray(maps, dtype=np.float64)
    grid = region_grid(maps.shape[1:], patch)
    n_regions = int(grid.max()) + 1
    flat = grid.reshape(-1)
    sums = np.stack([np.bincount(flat, weights=np.nan_to_num(m.reshape(-1)), minlength=n_regions) for m in maps])
    ranks = rank_scores(sums, order, rng_of(seed))
    return ranks[:, flat].reshape(maps.shape), n_regions


def thresholds(total: int, steps: int) -> np.ndarray:
    """``steps + 1`` cumulative counts from 0 to ``total``, evenly spread: the points of a curve."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ParameterError(f"steps={steps!r} must be an integer >= 1")
    return np.round(np.linspace(0, total, min(int(steps), total) + 1)).astype(np.int64)


def copies(x: np.ndarray, base: np.ndarray, ranks: np.ndarray, counts: np.ndarray, *, insert: bool = False) -> np.ndarray:
    """Perturbed copies of one input, one per count: the ``count`` first-ranked cells removed
    (set to ``base``) or, with ``insert``, the only ones kept from ``x`` (the rest at ``base``).

    Returns
    -------
    np.ndarray, shape (len(counts), *x.shape), float32
    """
    chosen = ranks[None] < np.asarray(counts).reshape(-1, *([1] * x.ndim))
    keep_x = chosen if insert else ~chosen
    return np.where(keep_x, x[None], base[None]).astype(np.float32)


def curves(forward: Forward, x: np.ndarray, base: np.ndarray, ranks: np.ndarray, counts: np.ndarray, *,
           insert: bool = False) -> np.ndarray:
    """The model's probabilities along the removal (or insertion) path of every sample.

    Parameters
    ----------
    forward : Forward
    x, base, ranks : np.ndarray, shape (n, *spatial_shape)
        Inputs, their removed values and the removal rank of each cell.
    counts : np.ndarray, shape (points,)
        Cells (or regions, with region ranks) removed at each point.

    Returns
    -------
    np.ndarray, shape (n, points, n_classes), float64
    """
    counts = np.asarray(counts)
    per_call = max(1, MAX_COPIES // len(counts))
    out = []
    for start in range(0, len(x), per_call):
        batch = [copies(x[i], base[i], ranks[i], counts, insert=insert) for i in range(start, min(start + per_call, len(x)))]
        probs = forward(np.concatenate(batch))
        out.append(probs.reshape(len(batch), len(counts), -1))
    return np.concatenate(out)


def area(curve: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Trapezoid area under each curve (n, points) over ``axis`` normalised to [0, 1]."""
    axis = np.asarray(axis, dtype=np.float64)
    span = axis[-1] - axis[0]
    u = (axis - axis[0]) / span if span > 0 else np.zeros_like(axis)
    return np.trapezoid(curve, u, axis=-1)
