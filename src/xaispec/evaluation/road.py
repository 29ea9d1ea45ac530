"""ROAD (Rong et al. 2022): remove cells by noisy linear imputation instead of a constant fill.

Each removed cell becomes the weighted mean of its neighbours (edge neighbours 1/6, diagonal
ones 1/12 on a 2-D map; left and right 1/2 on a 1-D one; weights renormalised at the
borders), found for all removed cells at once as one sparse linear system, plus Gaussian
noise. The imputed input stays close to the data and no longer tells the model *where*
cells were removed by their constant value.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .base import Score, as_forward, check_batch, rng_of
from .perturbation import cell_ranks, check_order

#: neighbour offsets and weights (Rong et al.'s 2-D kernel)
KERNEL_2D = [((-1, 0), 1 / 6), ((1, 0), 1 / 6), ((0, -1), 1 / 6), ((0, 1), 1 / 6),
             ((-1, -1), 1 / 12), ((-1, 1), 1 / 12), ((1, -1), 1 / 12), ((1, 1), 1 / 12)]
KERNEL_1D = [((-1,), 1 / 2), ((1,), 1 / 2)]


def impute(x: np.ndarray, removed: np.ndarray, *, noise: float = 0.01, rng=None) -> np.ndarray:
    """Noisy linear imputation of the ``removed`` cells of one input.

    Parameters
    ----------
    x : np.ndarray, shape (F, T) or (F,)
    removed : np.ndarray, same shape, bool
    noise : float
        Standard deviation of the added Gaussian noise, as a share of ``x``'s value range.
    rng : np.random.Generator or int

    Returns
    -------
    np.ndarray, same shape as ``x``, float32
        Kept cells unchanged; every removed cell the weighted mean of its neighbours.
    """
    import scipy.sparse
    import scipy.sparse.linalg

    x = np.asarray(x, dtype=np.float64)
    removed = np.asarray(removed, dtype=bool)
    if removed.shape != x.shape or x.ndim not in (1, 2):
        raise ParameterError(f"removed cells of shape {removed.shape} do not fit an input of shape {x.shape}")
    out = x.copy()
    n = int(removed.sum())
    if n == 0:
        return out.astype(np.float32)
    if n == x.size:
        raise ParameterError("ROAD cannot impute an input with every cell removed")
    kernel = KERNEL_2D if x.ndim == 2 else KERNEL_1D
    index = np.full(x.shape, -1, dtype=np.int64)
    index[removed] = np.arange(n)
    cells = np.argwhere(removed)
    # each removed cell's neighbours inside the map and their weights, renormalised to sum to 1
    rows, cols, vals, rhs = [], [], [], np.zeros(n)
    weight_sum = np.zeros(n)
    found = []
    for offset, w in kernel:
        nb = cells + np.asarray(offset)
        inside = np.all((nb >= 0) & (nb < np.asarray(x.shape)), axis=1)
        found.append((nb, inside, w))
        weight_sum += inside * w
    for nb, inside, w in found:
        src = np.flatnonzero(inside)
        tgt = tuple(nb[src].T)
        wn = w / weight_sum[src]
        unknown = index[tgt]
        is_unknown = unknown >= 0
        rows.append(src[is_unknown])
        cols.append(unknown[is_unknown])
        vals.append(-wn[is_unknown])
        np.add.at(rhs, src[~is_unknown], wn[~is_unknown] * x[tgt][~is_unknown])
    a = scipy.sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    a = a + scipy.sparse.identity(n, format="csr")
    solution = scipy.sparse.linalg.spsolve(a.tocsc(), rhs)
    spread = float(np.ptp(x)) or 1.0
    out[removed] = solution + rng_of(rng).normal(0.0, noise * spread, size=n)
    return out.astype(np.float32)


def road(model, x, maps, targets, *, percents=(10, 20, 30, 40, 50, 60, 70, 80, 90), order: str = "morf",
         noise: float = 0.01, seed: int = 0, batch_size: int = 64) -> Score:
    """ROAD curve: ``p_c`` after the top (MoRF) or bottom (LeRF) ``p``% of the cells are imputed.

    Returns
    -------
    Score
        ``road_<order>``: the mean of ``p_c`` over the percentages (lower is more faithful
        for MoRF, higher for LeRF); ``curves`` (n, len(percents)) and the per-sample
        accuracy of the class in ``params["accuracy"]`` are kept.
    """
    forward = as_forward(model, batch_size=batch_size)
    x, maps, targets = check_batch(x, maps, targets)
    check_order(order)
    pct = np.asarray(percents, dtype=np.float64)
    if pct.ndim != 1 or len(pct) == 0 or pct.min() <= 0 or pct.max() >= 100:
        raise ParameterError(f"percents={list(percents)!r} must be percentages in (0, 100)")
    ranks = cell_ranks(maps, order, seed=seed)
    rng, cells = rng_of(seed), int(np.prod(x.shape[1:]))
    before, p, hits = forward.rows, [], []
    for i in range(len(x)):
        imputed = np.stack([impute(x[i], ranks[i] < int(round(q / 100 * cells)), noise=noise, rng=rng) for q in pct])
        probs = forward(imputed)
        p.append(probs[:, targets[i]])
        hits.append(probs.argmax(axis=1) == targets[i])
    p = np.asarray(p)
    better = {"morf": False, "lerf": True, "random": None}[order]
    return Score(f"road_{order}", p.mean(axis=1), higher_is_better=better, forward=forward.rows - before, curves=p,
                 axis=pct, params={"percents": pct.tolist(), "order": order, "noise": noise, "seed": seed,
                                   "imputation": "noisy linear", "accuracy": np.mean(hits, axis=0).tolist()})
