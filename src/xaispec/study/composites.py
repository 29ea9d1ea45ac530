"""LRP's composites side by side on one trained model: the same test recordings explained
under every composite, what each keeps of the explained logit, how much of its relevance is
positive, and how far its maps agree with the model's default composite."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..models.runs import Run, ModelSpec


@dataclass
class CompositeComparison:
    """Maps of the same recordings under every composite that applies to the model.

    Attributes
    ----------
    task : ModelSpec
    samples : pandas.DataFrame
        The explained recordings (the book's samples), in order.
    inputs : np.ndarray, shape (n, *spatial)
        Their stored dB spectrograms.
    maps : dict of str -> np.ndarray, shape (n, *spatial)
    default : str
        The composite the book uses for this model.
    table : pandas.DataFrame
        One row per composite: its rules, the input relevance over the logit, the positive
        share of the relevance, the rank agreement with the default, seconds per map.
    skipped : list of str
        Composites that do not apply (the box rule without input bounds).
    """

    task: ModelSpec
    samples: pd.DataFrame
    inputs: np.ndarray
    maps: dict
    default: str
    table: pd.DataFrame
    skipped: list


def compare_composites(run: Run, task: ModelSpec, samples: pd.DataFrame, *, n: int = 3,
                       composites=None) -> CompositeComparison:
    """Explain the first ``n`` of ``samples`` with LRP under every composite.

    Parameters
    ----------
    run : Run
    task : ModelSpec
    samples : pandas.DataFrame
        Rows with ``array`` and ``row`` (the store's address of each recording).
    n : int
        Recordings compared.
    composites : sequence of str, optional
        Default: every name in :data:`xaispec.explain.lrp.COMPOSITES`.
    """
    from ..evaluation.agreement import spearman
    from ..explain import get_explainer
    from ..explain.lrp import COMPOSITES, default_composite
    from ..models.datasets import BatchReader, apply_scaling, input_bounds, load_scaling
    from ..models.loading import float32_model, load_model
    from .samples import task_store

    rows = samples.head(n).reset_index(drop=True)
    scaling = load_scaling(run, task)
    reader = BatchReader(task_store(run, task).path)
    try:
        raw = reader.read(rows[["array", "row"]].to_numpy(dtype=np.int64))
    finally:
        reader.close()
    x = apply_scaling(raw, scaling)
    model = float32_model(load_model(run, task))
    bounds = input_bounds(task.representation, scaling)
    default = default_composite(bounds is not None)
    maps, records, skipped = {}, [], []
    for name in composites or COMPOSITES:
        if COMPOSITES[name][0] == "box" and bounds is None:
            skipped.append(name)
            continue
        explainer = get_explainer("lrp", model, composite=name, bounds=bounds)
        start = time.perf_counter()
        e = explainer.explain(x)
        seconds = (time.perf_counter() - start) / len(x)
        maps[name] = e.maps
        total = e.maps.reshape(len(x), -1)
        records.append({"composite": name, "first layer": COMPOSITES[name][0], "convolutions": COMPOSITES[name][1],
                        "dense": COMPOSITES[name][2],
                        "relevance / logit": float(np.median(total.sum(axis=1) / e.extra["scores"])),
                        "positive share": float(np.median(np.clip(total, 0, None).sum(axis=1)
                                                          / np.maximum(np.abs(total).sum(axis=1), 1e-30))),
                        "s per map": seconds})
    for r in records:  # no default among the compared composites: no agreement to report
        r["Spearman with default"] = (float(np.nanmedian(spearman(maps[r["composite"]], maps[default])))
                                      if default in maps else np.nan)
    return CompositeComparison(task, rows, raw, maps, default, pd.DataFrame(records), skipped)


def composites_text(c: CompositeComparison) -> str:
    """What the table says, decided by its numbers: the closest and farthest composite from the
    default, and which composites keep the logit (input relevance within 10 % of it)."""
    t = c.table.set_index("composite")
    others = t.drop(index=c.default, errors="ignore")
    parts = []
    rho = others["Spearman with default"].dropna()
    if len(rho):
        parts.append(f"Closest to the default ({c.default}) is {rho.idxmax()} (median Spearman {rho.max():.2f}), "
                     f"farthest {rho.idxmin()} ({rho.min():.2f}).")
    kept = t.index[(t["relevance / logit"] - 1).abs() <= 0.1].tolist()
    parts.append(f"The input relevance stays within 10% of the logit under {', '.join(kept)}." if kept
                 else "No composite keeps the input relevance within 10% of the logit here "
                      "(biases and batch normalisation shifts absorb or add relevance).")
    if c.skipped:
        parts.append(f"Not applicable (the box rule needs input bounds): {', '.join(c.skipped)}.")
    return " ".join(parts)
