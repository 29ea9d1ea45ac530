"""Mask metrics of L-MAC (Paissan et al. 2024): what the top-k% of a map keeps of the decision.

The mask ``M`` holds the cells the audible explanation plays (:func:`xaispec.audio.resynthesis.evidence_cells`:
positive evidence only, at most ``k``% of the cells). ``x_in`` keeps ``M`` and sets the rest
to the baseline; ``x_out`` sets ``M`` to the baseline. With ``p = p_c(x)``:

- AI  = 100 * 1[p_c(x_in) > p]                      (average increase; higher is better)
- AD  = 100 * max(0, p - p_c(x_in)) / p             (average drop; lower is better)
- AG  = 100 * max(0, p_c(x_in) - p) / (1 - p)       (average gain; higher is better)
- FF  = p - p_c(x_out)                              (faithfulness on spectra; higher is better)
- Fid-In = 1[argmax p(x_in) = c]                    (input fidelity; higher is better)
"""
from __future__ import annotations

import numpy as np

from ..audio.resynthesis import evidence_cells
from ..errors import ParameterError
from .base import Score, as_forward, baselines, check_batch, describe_baseline

#: the mask metrics, their direction
MASK_METRICS = {"ai": True, "ad": False, "ag": True, "ff": True, "fid_in": True}


def top_mask(a: np.ndarray, percent: float) -> np.ndarray:
    """The top-``percent`` evidence mask of one map of any shape (1-D maps as one row)."""
    a = np.asarray(a, dtype=np.float64)
    return evidence_cells(a.reshape(1, -1) if a.ndim == 1 else a, percent).reshape(a.shape)


def mask_scores(model, x, maps, targets, *, baseline, percents=(5, 10, 20), batch_size: int = 64) -> dict[str, Score]:
    """AI, AD, AG, FF and Fid-In of the top-k% masks, one :class:`Score` per metric and ``k``.

    Returns
    -------
    dict
        ``"<metric>_<k>"`` (e.g. ``"fid_in_10"``) -> Score with per-sample values; each
        sample costs ``1 + 2 * len(percents)`` forward rows.
    """
    forward = as_forward(model, batch_size=batch_size)
    x, maps, targets = check_batch(x, maps, targets)
    pct = [float(k) for k in percents]
    if not pct or min(pct) <= 0 or max(pct) > 100:
        raise ParameterError(f"percents={list(percents)!r} must be percentages in (0, 100]")
    base = baselines(x, baseline)
    rows = []
    for i in range(len(x)):
        masks = np.stack([top_mask(maps[i], k) for k in pct])
        rows += [x[i][None], np.where(masks, x[i][None], base[i][None]), np.where(masks, base[i][None], x[i][None])]
    before = forward.rows
    probs = forward(np.concatenate(rows)).reshape(len(x), 1 + 2 * len(pct), -1)
    cost = (forward.rows - before) // len(pct)
    idx = np.arange(len(x))
    p = probs[idx, 0, targets][:, None]
    p_in = probs[:, 1:1 + len(pct), :][idx, :, targets]
    p_out = probs[:, 1 + len(pct):, :][idx, :, targets]
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {
            "ai": 100.0 * (p_in > p),
            "ad": 100.0 * np.maximum(0.0, p - p_in) / p,
            "ag": np.where(p_in > p, 100.0 * np.maximum(0.0, p_in - p) / (1.0 - p), 0.0),
            "ff": p - p_out,
            "fid_in": (probs[:, 1:1 + len(pct), :].argmax(axis=2) == targets[:, None]).astype(np.float64),
        }
    out = {}
    for name, table in values.items():
        for j, k in enumerate(pct):
            label = f"{name}_{k:g}"
            out[label] = Score(label, table[:, j], higher_is_better=MASK_METRICS[name], forward=cost,
                               params={"baseline": describe_baseline(baseline), "percent": k,
                                       "mask": "positive evidence, at most k% of the cells"})
    return out
