"""Agreement between explanations: rank correlation of maps, per sample (no model needed).

Also the similarity measures of the sanity checks: Spearman's rank correlation and SSIM
(Wang et al. 2004, as ``skimage.metrics.structural_similarity`` computes it).
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .base import Score


def spearman(a, b) -> np.ndarray:
    """Spearman's rank correlation between paired maps, shape (n,); NaN where a map is constant."""
    from scipy.stats import rankdata

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2:
        raise ParameterError(f"maps of shapes {a.shape} and {b.shape} must be two batches of one shape")
    ra = rankdata(np.nan_to_num(a.reshape(len(a), -1)), axis=1)
    rb = rankdata(np.nan_to_num(b.reshape(len(b), -1)), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, (ra * rb).sum(axis=1) / den, np.nan)


def ssim(a, b) -> np.ndarray:
    """SSIM between paired maps after each is scaled to [0, 1] by its own range, shape (n,).

    1-D maps are compared as one-row images with a window of 7 cells along them. NaN where
    both maps are constant.
    """
    from skimage.metrics import structural_similarity

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2:
        raise ParameterError(f"maps of shapes {a.shape} and {b.shape} must be two batches of one shape")

    def unit(m):
        m = np.nan_to_num(m)
        span = np.ptp(m)
        return (m - m.min()) / span if span > 0 else np.zeros_like(m)

    out = []
    for u, v in zip(a, b):
        if np.ptp(u) == 0 and np.ptp(v) == 0:
            out.append(np.nan)
            continue
        u, v = unit(u), unit(v)
        if u.ndim == 1:  # a row of cells: replicate it so the 7x7 window fits
            u, v = np.repeat(u[None], 7, axis=0), np.repeat(v[None], 7, axis=0)
        out.append(structural_similarity(u, v, data_range=1.0))
    return np.asarray(out)


def agreement(maps: dict[str, np.ndarray]) -> dict[tuple[str, str], Score]:
    """Spearman's rank correlation between the maps of every pair of methods on the same samples.

    Parameters
    ----------
    maps : dict
        Method name -> maps (n, *spatial_shape), the same samples in the same order.

    Returns
    -------
    dict
        ``(method_a, method_b)`` (in the order given) -> Score ``agreement`` with one value per sample.
    """
    names = list(maps)
    shapes = {np.shape(maps[m]) for m in names}
    if len(shapes) != 1:
        raise ParameterError(f"maps to compare must have one shape, got {sorted(map(str, shapes))}")
    return {(a, b): Score("agreement", spearman(maps[a], maps[b]), higher_is_better=None,
                          params={"methods": [a, b], "measure": "spearman"})
            for a, b in itertools.combinations(names, 2)}


def agreement_matrix(maps: dict[str, np.ndarray]) -> pd.DataFrame:
    """The mean agreement of every pair as a symmetric method x method table (1 on the diagonal), in the order given."""
    names = list(maps)
    table = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for (a, b), score in agreement(maps).items():
        table.loc[a, b] = table.loc[b, a] = score.mean()
    return table
