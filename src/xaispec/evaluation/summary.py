"""Tables and verdicts from metric scores: means with bootstrap intervals, floors beaten, sanity passed.

Everything here reads :class:`~xaispec.evaluation.base.Score` values (or their long table)
and computes no explanation or model output.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .base import Score

#: the two floors every method is compared with
FLOORS = ("random", "energy")
#: sanity metrics: similarity to the trained model's maps after randomisation (lower passes)
SANITY = ("mprt_spearman", "random_logit_ssim")
#: a method passes a sanity check when the similarity stays below this
SANITY_PASS = 0.5


def bootstrap_ci(values, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of the finite ``values`` (NaN, NaN when none)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) == 1:
        return float(v[0]), float(v[0])
    means = np.random.default_rng(seed).choice(v, size=(n_boot, len(v)), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def long_table(scores: dict[str, dict[str, Score]], sample_ids: list[str]) -> pd.DataFrame:
    """``{method: {metric: Score}}`` as rows ``method, metric, sample_id, value``."""
    rows = []
    for method, metrics in scores.items():
        for metric, score in metrics.items():
            for sid, value in zip(sample_ids, score.values):
                rows.append({"method": method, "metric": metric, "sample_id": sid, "value": float(value)})
    return pd.DataFrame(rows, columns=["method", "metric", "sample_id", "value"])


def summarise(table: pd.DataFrame, directions: dict[str, bool | None], *, seed: int = 0) -> pd.DataFrame:
    """Mean, 95% bootstrap interval and sample count of every (method, metric) of a long table.

    Returns
    -------
    pd.DataFrame
        Columns ``method, metric, mean, ci_low, ci_high, n, higher_is_better``.
    """
    rows = []
    for (method, metric), group in table.groupby(["method", "metric"], sort=True):
        v = group["value"].to_numpy(dtype=np.float64)
        finite = v[np.isfinite(v)]
        lo, hi = bootstrap_ci(finite, seed=seed)
        rows.append({"method": method, "metric": metric, "mean": float(finite.mean()) if len(finite) else np.nan,
                     "ci_low": lo, "ci_high": hi, "n": int(len(finite)),
                     "higher_is_better": directions.get(metric)})
    return pd.DataFrame(rows, columns=["method", "metric", "mean", "ci_low", "ci_high", "n", "higher_is_better"])


def method_table(summary: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Methods x metrics of ``mean [ci_low, ci_high]`` strings, in the order of ``metrics``."""
    s = summary[summary["metric"].isin(metrics)].copy()
    s["cell"] = [f"{m:.3g} [{lo:.3g}, {hi:.3g}]" if np.isfinite(m) else "n/a"
                 for m, lo, hi in zip(s["mean"], s["ci_low"], s["ci_high"])]
    table = s.pivot(index="method", columns="metric", values="cell")
    return table.reindex(columns=[m for m in metrics if m in table.columns]).fillna("n/a")


def beats_floors(summary: pd.DataFrame, metric: str) -> dict[str, bool]:
    """For every method that is not a floor: is its mean better than both floors' on ``metric``?

    A floor missing from the summary is not required; a method without a value does not beat it.
    """
    s = summary[summary["metric"] == metric].set_index("method")
    if s.empty or s["higher_is_better"].isna().all():
        return {}
    up = bool(s["higher_is_better"].dropna().iloc[0])
    floors = [s.loc[f, "mean"] for f in FLOORS if f in s.index and np.isfinite(s.loc[f, "mean"])]
    out = {}
    for method, mean in s["mean"].items():
        if method in FLOORS:
            continue
        out[method] = bool(np.isfinite(mean) and all((mean > f) if up else (mean < f) for f in floors))
    return out


def sanity_verdicts(summary: pd.DataFrame) -> dict[str, dict[str, bool]]:
    """``{check: {method: passed}}`` for the sanity metrics present: similarity below :data:`SANITY_PASS`."""
    out = {}
    for metric in SANITY:
        s = summary[summary["metric"] == metric]
        if not s.empty:
            out[metric] = {m: bool(np.isfinite(v) and v < SANITY_PASS) for m, v in zip(s["method"], s["mean"])}
    return out


def discussion(summary: pd.DataFrame, faithfulness: list[str], *, label=str) -> str:
    """A short paragraph chosen from the numbers: which methods beat both floors, which fail sanity.

    ``label(method)`` is a method's name in the text.
    """
    def names(methods):
        return ", ".join(label(m) for m in sorted(methods))

    parts = []
    for metric in faithfulness:
        verdict = beats_floors(summary, metric)
        if not verdict:
            continue
        winners = [m for m, ok in verdict.items() if ok]
        losers = [m for m, ok in verdict.items() if not ok]
        if winners and losers:
            parts.append(f"On {metric}, {names(winners)} beat both floors; {names(losers)} do not.")
        elif winners:
            parts.append(f"On {metric}, every method beats both floors.")
        else:
            parts.append(f"On {metric}, no method beats both floors: at this size the metric does not tell "
                         f"the methods from chance or from loudness.")
    for metric, verdict in sanity_verdicts(summary).items():
        failed = [m for m, ok in verdict.items() if not ok and m not in FLOORS]
        passed = [m for m, ok in verdict.items() if ok and m not in FLOORS]
        if failed:
            parts.append(f"The {metric} sanity check (similarity below {SANITY_PASS}) fails for "
                         f"{names(failed)}: their maps survive the change, so they show the input more than "
                         f"the model{'; ' + names(passed) + ' pass' if passed else ''}.")
        elif passed:
            parts.append(f"Every method passes the {metric} sanity check (similarity below {SANITY_PASS}).")
        if "energy" in verdict and verdict["energy"]:
            parts.append("The energy floor passes it too, which a check that works must not allow: "
                         "read it with care at this size.")
    return " ".join(parts) if parts else "No metric was computed for this model."
