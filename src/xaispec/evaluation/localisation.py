"""Localisation: does a map point at the cells where the evidence is known to be (no model needed)?

Against a ground-truth mask ``G`` of the cells that carry the class (a planted cue):

- relevance mass accuracy (Arras et al. 2022): positive attribution inside ``G`` over all
  positive attribution;
- relevance rank accuracy (Arras et al. 2022): the share of the ``|G|`` highest-ranked cells
  that lie in ``G``;
- pointing game (Zhang et al. 2018): is the single highest cell inside ``G``;
- AUC: the map as a score for "cell in ``G``" (the probability that a random cell of ``G``
  outranks a random cell outside it, ties counting one half).

All four are higher-is-better and lie in [0, 1]; a random map scores ``|G| / cells`` on the
first three on average and 0.5 on AUC.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .base import Score


def _check(maps, masks) -> tuple[np.ndarray, np.ndarray]:
    a = np.nan_to_num(np.asarray(maps, dtype=np.float64))
    g = np.asarray(masks, dtype=bool)
    if g.shape != a.shape or a.ndim < 2 or len(a) == 0:
        raise ParameterError(f"maps of shape {a.shape} and ground-truth masks of shape {g.shape} must be one "
                             f"non-empty batch of the same shape")
    return a.reshape(len(a), -1), g.reshape(len(g), -1)


def localisation(maps, masks) -> dict[str, Score]:
    """Relevance mass and rank accuracy, pointing game and AUC of each map against its mask.

    Parameters
    ----------
    maps : np.ndarray, shape (n, *spatial_shape)
    masks : np.ndarray, shape (n, *spatial_shape), bool
        The ground truth: the cells that carry the class.

    Returns
    -------
    dict
        ``relevance_mass``, ``relevance_rank``, ``pointing_game`` and ``localisation_auc`` ->
        Score per sample; NaN where undefined (an empty or full mask; no positive
        attribution for the mass).
    """
    from scipy.stats import rankdata

    a, g = _check(maps, masks)
    size = g.sum(axis=1)
    defined = (size > 0) & (size < g.shape[1])
    positive = np.clip(a, 0, None)
    total = positive.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mass = np.where(defined & (total > 0), (positive * g).sum(axis=1) / total, np.nan)
    rank, point, auc = [], [], []
    for ai, gi, k, ok in zip(a, g, size, defined):
        if not ok:
            rank.append(np.nan), point.append(np.nan), auc.append(np.nan)
            continue
        order = np.argsort(-ai, kind="stable")
        rank.append(gi[order[:k]].mean())
        point.append(float(gi[order[0]]))
        r = rankdata(ai)  # Mann-Whitney: ties share their mean rank
        auc.append((r[gi].sum() - k * (k + 1) / 2) / (k * (len(ai) - k)))
    params = {"ground_truth": "cells that carry the class"}
    return {"relevance_mass": Score("relevance_mass", mass, higher_is_better=True, params=params),
            "relevance_rank": Score("relevance_rank", rank, higher_is_better=True, params=params),
            "pointing_game": Score("pointing_game", point, higher_is_better=True, params=params),
            "localisation_auc": Score("localisation_auc", auc, higher_is_better=True, params=params)}
