"""What the measurement stage found for one model, as the evaluation chapter shows it: tables of
methods x metrics with intervals, the curves behind them, the agreement between methods, the
cost, and a discussion chosen from the numbers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evaluation.summary import FLOORS, discussion, method_table
from ..figures import evaluation as figs
from ..figures.paths import method_name
from ..models.runs import ModelSpec, Run
from .measure import read_measurements
from .results import result_paths

#: the faithfulness metrics of the main table, in the order shown
FAITHFULNESS = ["deletion_auc", "insertion_auc", "aopc_morf", "aopc_lerf", "aopc_morf_minus_lerf", "road_morf",
                "road_lerf", "faithfulness_correlation", "infidelity"]
#: the metrics the discussion checks against the floors
VERDICT_METRICS = ["deletion_auc", "insertion_auc", "aopc_morf_minus_lerf", "faithfulness_correlation"]
SANITY = ["mprt_spearman", "mprt_spearman_abs", "mprt_ssim", "random_logit_ssim", "random_logit_spearman",
          "max_sensitivity", "sparseness", "complexity"]
#: the curves the page draws: metric -> (title, x label, y label)
CURVES = {
    "deletion_auc": ("Deletion: most relevant cells set to silence first", "share of cells removed",
                     "probability of the explained class"),
    "insertion_auc": ("Insertion: most relevant cells put back first", "share of cells inserted",
                      "probability of the explained class"),
    "aopc_morf": ("Region perturbation, most relevant region first", "regions removed",
                  "probability of the explained class"),
    "road_morf": ("ROAD, most relevant first (noisy linear imputation)", "percent of cells imputed",
                  "probability of the explained class"),
    "manipulation": ("Accuracy as the cells each selection ranks highest go silent", "share of cells silenced",
                     "accuracy on the true class"),
    "mprt_spearman": ("Cascading randomisation: similarity to the trained model's maps", "layers re-initialised",
                      "Spearman rank correlation"),
}


@dataclass
class Measured:
    """The measurement files of one model (see :func:`xaispec.study.measure.read_measurements`)."""

    run: Run
    task: ModelSpec
    rows: pd.DataFrame
    summary: pd.DataFrame
    agreement: pd.DataFrame
    curves: dict
    record: dict

    @property
    def methods(self) -> list[str]:
        """Measured methods in the book's order, the floors last."""
        return [m for m in self.agreement.index if m not in FLOORS] + [m for m in FLOORS if m in self.agreement.index]


def load_measured(run: Run, task: ModelSpec) -> Measured:
    """The measurements of ``task``'s explanations (a one-line DataError names the command when missing)."""
    return Measured(run, task, **read_measurements(run, task))


def measured_facts(m: Measured) -> dict:
    """Numbers the page's text quotes: samples, methods, forward rows, counts and the baseline."""
    s, rec = m.record["settings"], m.record
    forward = sum(int(r.get("forward", 0)) for r in rec["methods"].values())
    return {"samples": len(rec["sample_ids"]), "n_methods": len([x for x in m.methods if x not in FLOORS]),
            "forward_rows": forward, "steps": s["steps"], "regions": s["regions"], "patch": s["patch"],
            "subsets": s["subsets"], "sensitivity_draws": s["sensitivity_draws"], "sanity_samples": s["sanity_samples"],
            "mask_percents": ", ".join(f"{k:g}" for k in s["mask_percents"]),
            "baseline": f"{rec['baseline']['meaning']} ({rec['baseline']['value']:.3f} in the model's input space)",
            "model": m.task.name}


def _named(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """``table`` (indexed by method) in ``order``, the methods' names in a first column ``method``."""
    table = table.reindex([x for x in order if x in table.index])
    return table.rename(index=lambda x: method_name(str(x))).rename_axis("method").reset_index()


def faithfulness_table(m: Measured) -> pd.DataFrame:
    """Methods x faithfulness metrics: ``mean [95% interval]`` over the samples, one row per method."""
    return _named(method_table(m.summary, FAITHFULNESS), m.methods)


def masks_table(m: Measured) -> pd.DataFrame:
    """Methods x mask metrics (AI, AD, AG, FF, Fid-In) and, for spectrograms, the same on sound."""
    ks = [f"{k:g}" for k in m.record["settings"]["mask_percents"]]
    names = [f"{n}_{k}" for k in ks for n in ("ai", "ad", "ag", "ff", "fid_in", "sound_fid_in", "sound_p_kept",
                                               "sound_out_p_kept")]
    return _named(method_table(m.summary, [n for n in names if n in set(m.summary["metric"])]), m.methods)


def sanity_table(m: Measured) -> pd.DataFrame:
    """Methods x sanity, robustness and complexity metrics."""
    return _named(method_table(m.summary, SANITY), m.methods)


def has_sound(m: Measured) -> bool:
    """Whether the sound metrics were computed (inputs with a resynthesis)."""
    return bool(m.summary["metric"].str.startswith("sound_").any())


def curve_figure(m: Measured, metric: str):
    """The mean curve behind ``metric`` per method (see :data:`CURVES`), or None when none was kept."""
    title, xlabel, ylabel = CURVES[metric]
    curves = {x: (m.curves[f"{x}/{metric}/axis"], m.curves[f"{x}/{metric}"]) for x in m.methods
              if f"{x}/{metric}" in m.curves}
    if not curves:
        return None
    return figs.method_curves(curves, title=f"{m.task.name}: {title}", xlabel=xlabel, ylabel=ylabel)


def morf_lerf_figure(m: Measured):
    """AOPC in MoRF against LeRF order per method."""
    s = m.summary[m.summary["metric"].isin(["aopc_morf", "aopc_lerf"])]
    values = s.pivot(index="method", columns="metric", values="mean").reindex(m.methods).dropna()
    return figs.morf_lerf(values, title=f"{m.task.name}: MoRF against LeRF")


def agreement_figure(m: Measured):
    """The methods' mean rank correlation on the same samples."""
    table = m.agreement.reindex(index=m.methods, columns=m.methods)
    return figs.agreement_heatmap(table, title=f"{m.task.name}: agreement between methods")


def reference_agreement(m: Measured, reference: str = "shap_permutation") -> pd.DataFrame:
    """Each method's mean rank correlation with ``reference`` (empty when it was not measured)."""
    if reference not in m.agreement.index:
        return pd.DataFrame(columns=["method", f"Spearman with {method_name(reference)}"])
    col = m.agreement.loc[reference]
    return pd.DataFrame({"method": [method_name(x) for x in m.methods if x != reference],
                         f"Spearman with {method_name(reference)}": [col[x] for x in m.methods if x != reference]})


def cost_table(m: Measured) -> pd.DataFrame:
    """Per method: seconds per map (from its explanation results) and forward rows its measurement took."""
    rows = []
    for x in m.methods:
        csv = result_paths(m.run, m.task, x)[0]
        runtime = pd.read_csv(csv)["runtime"].median() if csv.is_file() else np.nan
        rows.append({"method": method_name(x), "s per map (median)": runtime,
                     "forward rows measured": int(m.record["methods"].get(x, {}).get("forward", 0))})
    return pd.DataFrame(rows)


def discussion_text(m: Measured) -> str:
    """The page's closing paragraph, chosen from the numbers (:func:`xaispec.evaluation.summary.discussion`)."""
    return discussion(m.summary, VERDICT_METRICS, label=method_name)


def randomisation_maps_figure(m: Measured):
    """The first sample's map of every method for the trained model and after each layer is re-initialised."""
    rows = {x: m.curves[f"{x}/mprt_spearman/examples"] for x in m.methods if f"{x}/mprt_spearman/examples" in m.curves}
    if not rows:
        return None
    layers = next(iter(m.record["methods"].values()))["metrics"]["mprt_spearman"]["params"]["layers"]
    columns = ["trained"] + [f"-> {name}" for name in layers]
    return figs.map_rows(rows, columns, title=f"{m.task.name}: maps as the layers are re-initialised, output first")
