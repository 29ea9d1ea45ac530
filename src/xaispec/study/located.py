"""What the ground truth says of one planted-cue model, as its page shows it: the model's
accuracy and its controls, the localisation table with intervals, the maps with the truth
outlined, whether the maps follow a moved cue, and a verdict chosen from the numbers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evaluation.summary import FLOORS, method_table
from ..figures import evaluation as figs
from ..figures.paths import method_name
from ..models.runs import ModelSpec, Run
from .groundtruth import METRICS, read_groundtruth, scored_maps, scored_masks

#: the metrics' names in the tables
METRIC_NAMES = {"relevance_mass": "relevance mass", "relevance_rank": "relevance rank",
                "pointing_game": "pointing game", "localisation_auc": "AUC"}
#: what a model must reach on its test clips to be said to have learnt the cue
LEARNT = 0.9
#: what the class is carried by, per cue kind
CUE_TEXT = {
    "tone": "a tone burst (narrow in frequency, short in time) whose frequency band is the class",
    "noise": "a band of noise (narrow in frequency, long in time) whose band is the class",
    "clicks": "a click train (narrow in time, wide in frequency) whose click rate is the class",
    "pair": "two tone bursts, low-then-high or high-then-low: the class is their order, so neither burst "
            "alone tells it (first-order methods are expected to struggle)",
}


@dataclass
class Located:
    """The ground-truth files of one model (see :func:`xaispec.study.groundtruth.read_groundtruth`)."""

    run: Run
    task: ModelSpec
    rows: pd.DataFrame
    summary: pd.DataFrame
    record: dict
    controls: dict
    controls_samples: pd.DataFrame

    @property
    def where(self) -> str:
        """What the ground truth marks in this model's input: the cue's ``cells`` of a spectrogram,
        its ``time columns`` for a waveform."""
        return str(self.record.get("geometry", "cells"))

    @property
    def methods(self) -> list[str]:
        """The methods in the book's order, the floors last."""
        names = self.record["methods"]
        return [m for m in names if m not in FLOORS] + [m for m in FLOORS if m in names]


def load_located(run: Run, task: ModelSpec) -> Located:
    """The ground-truth measurements of ``task`` (a one-line DataError when missing)."""
    return Located(run, task, **read_groundtruth(run, task))


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a proportion ``k / n``."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


def located_facts(g: Located) -> dict:
    """Numbers the page's text quotes."""
    c = g.controls
    cells = np.asarray(g.record["mask_cells"], dtype=float)
    kind = str(g.record.get("cue", ""))
    return {"model": g.task.name, "samples": len(g.record["sample_ids"]), "test_clips": c["n"],
            "cue_text": CUE_TEXT.get(kind, kind),
            "classes": len(g.task.classes), "chance": f"{c['chance']:.2f}", "accuracy": f"{c['accuracy']:.3f}",
            "mask_share": f"{100 * cells.mean() / g.record['cells']:.2f}%", "moved_explained": c["explained"],
            "min_move": f"{c['min_move']:.2f}"}


def controls_table(g: Located) -> pd.DataFrame:
    """The model's test accuracy with the cue, without it and with it moved, each with its 95%
    Wilson interval, beside chance."""
    c, n = g.controls, g.controls["n"]
    rows = []
    for what, key in (("clips as recorded (speech + cue)", "accuracy"), ("cue removed (speech alone)", "accuracy_removed"),
                      ("cue moved in time", "accuracy_moved"), ("moved: prediction unchanged", "kept_moved")):
        lo, hi = wilson(int(round(c[key] * n)), n)
        rows.append({"test clips": what, "share": c[key], "95% interval": f"[{lo:.2f}, {hi:.2f}]"})
    rows.append({"test clips": "chance (one class of " + str(len(g.task.classes)) + ")", "share": c["chance"],
                 "95% interval": ""})
    return pd.DataFrame(rows)


def localisation_table(g: Located) -> pd.DataFrame:
    """Methods x localisation metrics, ``mean [95% interval]`` over the explained test clips."""
    table = method_table(g.summary, list(METRICS)).rename(columns=METRIC_NAMES)
    table = table.reindex([m for m in g.methods if m in table.index])
    return table.rename(index=lambda x: method_name(str(x))).rename_axis("method").reset_index()


def follows_table(g: Located) -> pd.DataFrame:
    """Per method: its maps of moved clips, relevance mass on the moved cue's cells and on the cells it left."""
    rows = [{"method": method_name(m), "mass on the moved cue": v["mass_moved"],
             "mass where the cue was": v["mass_left"], "clips": v["n"]}
            for m, v in g.controls["follows"].items()]
    return pd.DataFrame(rows, columns=["method", "mass on the moved cue", "mass where the cue was", "clips"])


def truth_figure(g: Located, *, samples: int = 4):
    """The first ``samples`` explained clips: input and every method's map with the truth outlined."""
    from ..explain import Explanation
    from .results import result_paths
    from .samples import task_store, test_table

    table = test_table(g.run, g.task).set_index("sample_id").loc[g.record["sample_ids"]].reset_index()
    # one clip of each class in turn, so that every band (rate, order) is shown
    turn = table.groupby("actual", sort=True).cumcount()
    table = table.assign(turn=turn).sort_values(["turn", "actual"], kind="stable").head(samples).reset_index(drop=True)
    ids = list(table["sample_id"])
    store = task_store(g.run, g.task)
    rows = table["row"].to_numpy(dtype=np.int64)
    inputs, masks = store.load(rows), store.load(rows, name="mask").astype(bool)
    maps = {}
    for m in g.methods:
        if m in FLOORS:
            continue
        e = Explanation.load(result_paths(g.run, g.task, m)[1])
        where = {str(s): i for i, s in enumerate(e.extra["sample_ids"])}
        maps[m] = e.maps[[where[s] for s in ids]]
    titles = [f"class {a}, pred. {p}" for a, p in zip(table["actual"], table["predicted"])]
    if g.task.model == "audionet":   # in time: each method's positive relevance per spectrogram column
        from ..audio.features import ALEXNET_SR
        from ..evaluation.profiles import column_centres

        profiles = {m: scored_maps(g.task, a) for m, a in maps.items()}
        return figs.time_maps_with_truth(inputs, profiles, scored_masks(g.task, masks), titles,
                                         seconds=column_centres() / ALEXNET_SR,
                                         title=f"{g.task.name}: relevance in time (positive part) and the cue's "
                                               "columns (shaded)")
    return figs.maps_with_truth(inputs, maps, masks, titles,
                                title=f"{g.task.name}: maps (positive part) and the cue's cells (outlined)")


def _best(g: Located, metric: str) -> tuple[str, float]:
    s = g.summary[(g.summary["metric"] == metric) & ~g.summary["method"].isin(FLOORS)].dropna(subset=["mean"])
    if s.empty:
        return ("", float("nan"))
    top = s.sort_values("mean", ascending=False).iloc[0]
    return (str(top["method"]), float(top["mean"]))


def above_floors(g: Located, metric: str) -> dict[str, bool]:
    """Per method: is its 95% interval on ``metric`` above both floors' intervals?"""
    s = g.summary[g.summary["metric"] == metric].set_index("method")
    ceiling = max((float(s.loc[f, "ci_high"]) for f in FLOORS if f in s.index and np.isfinite(s.loc[f, "ci_high"])),
                  default=-np.inf)
    return {m: bool(np.isfinite(s.loc[m, "ci_low"]) and s.loc[m, "ci_low"] > ceiling)
            for m in s.index if m not in FLOORS}


def verdict_text(g: Located) -> str:
    """The page's verdict (Markdown), every sentence decided by the numbers."""
    c, n = g.controls, g.controls["n"]
    out = []
    learnt = c["accuracy"] >= LEARNT
    out.append(f"The model classifies {c['accuracy']:.0%} of the {n} test clips correctly "
               + ("and so has learnt the cue." if learnt else
                  f"(below {LEARNT:.0%}): it has not fully learnt the cue, and what follows is read with that caveat."))
    lo, hi = wilson(int(round(c["accuracy_removed"] * n)), n)
    if lo <= c["chance"] <= hi:
        out.append(f"Without the cue it falls to {c['accuracy_removed']:.0%}, whose 95% interval [{lo:.2f}, {hi:.2f}] "
                   f"contains chance ({c['chance']:.2f}): the speech alone tells it nothing, so its decisions rest on the cue.")
    elif lo > c["chance"]:
        out.append(f"Without the cue it still reaches {c['accuracy_removed']:.0%} ([{lo:.2f}, {hi:.2f}], above chance "
                   f"{c['chance']:.2f}): something besides the cue carries the class, and the ground truth is incomplete.")
    else:
        out.append(f"Without the cue it falls to {c['accuracy_removed']:.0%}, below chance ({c['chance']:.2f}): "
                   "it answers one class for speech alone, so its decisions rest on the cue.")
    out.append(f"With the cue moved in time, {c['kept_moved']:.0%} of its predictions stay as they were"
               + (" -- it reads the cue wherever it is." if c["kept_moved"] >= 0.8 else
                  " -- fewer than four in five: where the cue sits matters to it."))
    beat = above_floors(g, "relevance_mass")
    good = [method_name(m) for m, ok in beat.items() if ok]
    bad = [method_name(m) for m, ok in beat.items() if not ok]
    best, value = _best(g, "relevance_mass")
    if best:
        out.append(f"On relevance mass, the share of positive attribution inside the cue's {g.where}, "
                   f"{method_name(best)} is highest ({value:.2f}).")
    if good:
        out.append(f"Above both floors' 95% intervals: {', '.join(good)}.")
    if bad:
        out.append(f"Not distinguishable from a floor (interval overlapping the random or energy floor's): "
                   f"{', '.join(bad)}.")
    follows = [method_name(m) for m, v in c["follows"].items() if v["mass_moved"] > v["mass_left"]]
    stays = [method_name(m) for m, v in c["follows"].items() if not v["mass_moved"] > v["mass_left"]]
    if follows:
        out.append(f"When the cue moves, the maps of {', '.join(follows)} move with it (more mass on its new {g.where} "
                   "than where it was).")
    if stays:
        out.append(f"The maps of {', '.join(stays)} do not follow it.")
    return " ".join(out)


def cue_energy_share(signal: np.ndarray, mask: np.ndarray) -> float:
    """The share of a 1-s, 8-kHz signal's spectrogram power that lies in the cue's cells."""
    from ..audio import features as F

    power = 10.0 ** (F.alexnet_spectrogram(np.asarray(signal, dtype=np.float64)) / 10.0)
    return float((power * mask).sum() / power.sum())


@dataclass
class Heard:
    """A cue clip and what one method's audible explanation of it keeps."""

    method: str
    sample_id: str
    recording: object
    cue: object
    audible: object
    #: share of the spectrogram power in the cue's cells: the recording's, the explanation's
    share_recording: float
    share_audible: float


def heard(g: Located, method: str, options: dict, *, seed: int = 0) -> Heard | None:
    """The first explained clip's recording, cue alone and ``method``'s audible explanation, with how
    much of each one's power lies in the cue's cells (None when no clip was explained).

    The recording and the audible explanation are the explanation stage's files when it drew them;
    otherwise (the book's cue pages explain without per-sample figures) they are made here, once,
    from the clip and the stored map, as the stage would have made them."""
    import soundfile as sf

    from ..audio.resynthesis import audible_explanation, write_wav
    from ..data.corpora import companion_paths
    from ..data.signals import embedded_signal, find_corpus_root
    from ..explain import Explanation
    from .explained import load_explained
    from .results import method_paths, result_paths, sample_paths
    from .samples import task_store

    ex = load_explained(g.run, g.task, method, options, seed=seed)
    if ex.samples.empty:
        return None
    row = ex.samples.iloc[0]
    store = task_store(g.run, g.task)
    root = find_corpus_root(store)
    recording = sample_paths(g.run, g.task, row)["waveform_wav"]
    audible = method_paths(g.run, g.task, method, row)["wav"]
    if not (recording.is_file() and audible.is_file()):
        mode = store.attrs.get("config", {}).get("mode", "exact")
        signal = embedded_signal(store.index.loc[int(row["row"])], root, mode)
        e = Explanation.load(result_paths(g.run, g.task, method)[1])
        at = [str(s) for s in e.extra["sample_ids"]].index(str(row["sample_id"]))
        write_wav(recording, np.asarray(signal / 32768.0, dtype=np.float32), 8000)   # 16-bit units -> [-1, 1]
        top = float(options.get("top_percent", 20.0))
        write_wav(audible, audible_explanation(signal, e.maps[at], top_percent=top), 8000)
    mask = store.load([int(row["row"])], name="mask")[0].astype(bool)
    rec_y, _ = sf.read(recording, dtype="float64")
    aud_y, _ = sf.read(audible, dtype="float64")
    return Heard(method, str(row["sample_id"]), recording, root / companion_paths(row["path"])["cue"], audible,
                 cue_energy_share(rec_y, mask), cue_energy_share(aud_y, mask))


def best_method(g: Located, metric: str = "relevance_mass") -> str:
    """The method with the highest mean on ``metric`` (the first method when none has a value)."""
    best, _ = _best(g, metric)
    return best or next(m for m in g.methods if m not in FLOORS)
