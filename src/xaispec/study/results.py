"""The result files of the explain stage: where they are, what they hold, how new results join old ones.

Per model and method, ``explanations/{method}_{short}.csv`` (one row per sample: id,
target, prediction, runtime, configuration key, file names), ``.npz`` (the maps, see
:meth:`xaispec.explain.Explanation.save`, with their ``sample_ids``) and ``.json``
(parameters, selection, failures, work, provenance); per sample, the file names of its
figures (:func:`sample_paths`, :func:`method_paths`). A later call keeps the rows it does
not redo (:func:`finished_ids`, :func:`merge_results`).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import write_json_atomic, write_text_atomic
from ..errors import DataError
from ..models.runs import Run, ModelSpec

#: ``extra`` entries of an Explanation that describe the whole batch, not one sample each
GLOBAL_EXTRA = {"expected_value", "n_patches"}


@dataclass
class Failure:
    """One method failing on one sample."""

    task: str
    method: str
    sample_id: str
    error: str

    def line(self) -> str:
        """``{task} {method} {sample_id}: {error}``, as the explain command prints it."""
        return f"{self.task} {self.method} {self.sample_id}: {self.error}"


@dataclass
class MethodResult:
    """What :func:`xaispec.study.stage.explain` did for one method."""

    method: str
    csv: Path
    npz: Path
    json: Path
    explained: int = 0
    reused: int = 0
    failures: list[Failure] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)
    #: rows the method ran through the model: ``forward`` evaluated, ``backward`` differentiated
    work: dict = field(default_factory=dict)


@dataclass
class ExplainResult:
    """What :func:`xaispec.study.stage.explain` did for one model.

    Per-method results, the samples' own figures, every failure and the time taken.
    """

    task: ModelSpec
    samples: pd.DataFrame
    methods: dict[str, MethodResult] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0


def result_paths(run: Run, task: ModelSpec, method: str) -> tuple[Path, Path, Path]:
    """``explanations/{method}_{short}.csv``, ``.npz`` and ``.json`` of a model and method."""
    stem = run.dir / "explanations" / f"{method}_{task.short}"
    return stem.with_suffix(".csv"), stem.with_suffix(".npz"), stem.with_suffix(".json")


def _stem_fields(row, task: ModelSpec) -> dict:
    """The study's file-name parts of a sample: participant, sex, digit, rep.

    Emotion samples have no digit: their emotion takes its place and the repetition
    becomes ``{intensity}-{statement}-{repetition}`` (unique per actor and emotion).
    """
    if "digit" in row and pd.notna(row.get("digit")):
        digit, rep = row["digit"], row["repetition"]
    else:
        digit = row.get("emotion", row.get("actual"))
        rep = "-".join(str(row[c]) for c in ("intensity", "statement", "repetition") if c in row)
    if "#" in str(row["sample_id"]):
        rep = f"{rep}-{str(row['sample_id']).split('#', 1)[1]}"
    return {"participant": str(row["participant"]), "sex": str(row["sex"]), "digit": digit, "rep": rep}


def _figure_label(task: ModelSpec) -> str:
    return task.label if task.model == "alexnet" else f"{task.label}_{task.model}"


def sample_paths(run: Run, task: ModelSpec, row) -> dict[str, Path]:
    """The waveform and spectrogram figure paths of a sample (and the waveform's WAV)."""
    from ..figures import figure_path

    f = _stem_fields(row, task)
    wave = figure_path(run.dir, "waveform", **f)
    spec = figure_path(run.dir, "spectrograms", **f)
    if task.representation not in ("alexnet", "audionet"):   # the waveform models hear the same second
        wave = wave.with_name(f"{wave.stem}_excerpt.png")
        spec = spec.with_name(f"{spec.stem}_{task.representation}.png")
    return {"waveform": wave, "waveform_wav": wave.with_suffix(".wav"), "spectrogram": spec}


def method_paths(run: Run, task: ModelSpec, method: str, row) -> dict[str, Path]:
    """The study overlay, the panel (``_panel.png``) and the WAV of a sample and method."""
    from ..figures import figure_path

    fig = figure_path(run.dir, method, _figure_label(task), task.fold, predicted=row["predicted"],
                      **_stem_fields(row, task))
    return {"figure": fig, "panel": fig.with_name(f"{fig.stem}_panel.png"), "wav": fig.with_suffix(".wav")}


def run_relative(run: Run, path: Path | None) -> str:
    """``path`` relative to the run folder as recorded in result files (``""`` for None)."""
    if path is None:
        return ""
    try:
        return str(Path(path).relative_to(run.dir))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- explanation merging

def concat_explanations(parts: list, ids: list[np.ndarray]):
    """One Explanation from several of the same method (runtimes added).

    Parameters
    ----------
    parts : list of Explanation
        Empty ones and None are left out.
    ids : list of np.ndarray
        The sample ids of each part, stored as ``extra["sample_ids"]``.

    Returns
    -------
    Explanation or None
        None when no part has a sample. Per-sample ``extra`` entries are concatenated
        (dropped where their shapes differ between parts); the others, and
        :data:`GLOBAL_EXTRA`, are the last part's.
    """
    from ..explain import Explanation

    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    extra = {}
    keys = set.intersection(*(set(p.extra) for p in parts))
    for key in keys:
        values = [p.extra[key] for p in parts]
        if key in GLOBAL_EXTRA or not all(isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == len(p)
                                          for v, p in zip(values, parts)):
            extra[key] = values[-1]
            continue
        try:
            extra[key] = np.concatenate(values)
        except ValueError:
            continue  # shapes differ between parts (e.g. top_labels of another k): dropped
    extra["sample_ids"] = np.concatenate([np.asarray(i, dtype=str) for i in ids])
    return Explanation(maps=np.concatenate([p.maps for p in parts]), method=parts[-1].method,
                       targets=np.concatenate([p.targets for p in parts]), params=parts[-1].params,
                       runtime=float(sum(p.runtime for p in parts)), extra=extra)


def subset_explanation(expl, keep: np.ndarray):
    """The samples ``keep`` (boolean mask or indices) of an Explanation, with their per-sample ``extra``."""
    from ..explain import Explanation

    n = len(expl)
    extra = {k: (v[keep] if k not in GLOBAL_EXTRA and isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == n
                 else v) for k, v in expl.extra.items()}
    return Explanation(maps=expl.maps[keep], method=expl.method, targets=expl.targets[keep], params=expl.params,
                       runtime=expl.runtime, extra=extra)


def take_sample(expl, i: int):
    """Sample ``i`` of an explanation as a one-sample Explanation."""
    return subset_explanation(expl, np.array([i]))


def sample_extra(expl, j: int) -> dict:
    """The per-sample ``extra`` entries of sample ``j`` of a batch Explanation (e.g. LIME's ``mask``)."""
    n = len(expl)
    return {k: v[j] for k, v in expl.extra.items() if k not in GLOBAL_EXTRA
            and isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == n}



# ---------------------------------------------------------------- what is finished, and merging

def config_key(explainer, model_sha, top_percent: float, float32: bool) -> str:
    """Short hash of what an explanation depends on besides the sample: parameters, model, options."""
    from ..audio.resynthesis import CELL_RULE
    from ..explain.base import jsonable

    text = json.dumps({"params": jsonable(explainer.params), "model": model_sha, "top_percent": float(top_percent),
                       "float32": bool(float32), "cell_rule": CELL_RULE}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def read_results(mres: MethodResult):
    """The method's earlier result table and maps.

    Returns
    -------
    (pd.DataFrame or None, Explanation or None)
        The CSV read as strings (None when missing) and the npz (None when missing,
        unreadable or without a CSV).
    """
    from ..explain import Explanation

    table = pd.read_csv(mres.csv, dtype=str, keep_default_na=False) if mres.csv.is_file() else None
    old = None
    if table is not None and mres.npz.is_file():
        try:
            old = Explanation.load(mres.npz)
        except DataError:
            old = None
    return table, old


def finished_ids(run: Run, table: pd.DataFrame | None, old, ids: list[str], config: str, *,
                 figures: bool) -> set[str]:
    """The samples of ``ids`` whose explanation can be reused.

    A sample is finished when it has a CSV row made with the same ``config`` (see
    :func:`config_key`), a map in the npz and, when ``figures``, its figure and every file
    its row names.
    """
    done = set()
    if old is None or "sample_ids" not in old.extra:
        return done
    have = set(np.asarray(old.extra["sample_ids"]).astype(str))
    for rec in table.to_dict("records"):
        sid = rec["sample_id"]
        if sid not in have or sid not in ids or rec.get("config") != config:
            continue  # not explained, not asked for, or made with other parameters or another model
        files = [rec.get(k, "") for k in ("figure", "panel", "wav")] if figures else []
        if all((run.dir / f).is_file() for f in files if f):
            if not figures or rec.get("figure"):
                done.add(sid)
    return done


def merge_results(mres: MethodResult, table: pd.DataFrame | None, old, parts: list, part_ids: list,
                  rows: list[dict]) -> None:
    """Write the method's npz and CSV: the earlier samples not redone, then the new ``rows``.

    Parameters
    ----------
    mres : MethodResult
        Names the files.
    table, old
        The earlier CSV and maps (see :func:`read_results`).
    parts, part_ids : list
        The new one-sample Explanations and their sample ids.
    rows : list of dict
        The new CSV rows.
    """
    new_ids = {r["sample_id"] for r in rows}
    kept_parts, kept_ids = [], []
    if old is not None and "sample_ids" in old.extra:
        old_ids = np.asarray(old.extra["sample_ids"]).astype(str)
        keep = np.array([s not in new_ids for s in old_ids])
        if keep.any():
            kept_parts, kept_ids = [subset_explanation(old, keep)], [old_ids[keep]]
    merged = concat_explanations(kept_parts + parts, kept_ids + part_ids)
    merged.save(mres.npz)
    new_table = pd.DataFrame(rows)
    if table is not None and not table.empty:
        table = table[~table["sample_id"].isin(new_ids)]
        new_table = pd.concat([table, new_table.astype({c: str for c in new_table.columns})], ignore_index=True)
    write_text_atomic(mres.csv, new_table.to_csv(index=False))


# ---------------------------------------------------------------- the record

def provenance_record() -> dict:
    """Versions and commit; the commit of this package's checkout when the project root
    (``$XAISPEC_ROOT``) is not a git checkout."""
    from ..provenance import git_commit, record

    rec = record()
    if rec.get("git_commit") == "unknown":
        source = Path(__file__).resolve().parents[3]
        if (source / ".git").exists():
            rec["git_commit"] = git_commit(source)
    return rec


def write_record(run: Run, task: ModelSpec, name: str, explainer, mres: MethodResult, *, model_sha, selection,
                 top_percent, float32, precision, n_selected) -> None:
    """Write the method's ``.json``: parameters, model, selection, counts, failures, work and provenance.

    Nothing is written when every sample was reused and the file exists: the record of
    the call that made the results stays.
    """
    from ..explain.base import jsonable

    if mres.explained == 0 and not mres.failures and mres.json.is_file():
        return  # everything reused: the record of the run that made it stays
    rel = run_relative
    write_json_atomic(mres.json, {
        "task": task.name, "label": task.label, "fold": task.fold, "model": task.model, "method": name,
        "params": jsonable(explainer.params), "model_file": rel(run, run.model_path(task)), "model_sha256": model_sha,
        "selection": jsonable(selection or {}), "selected": n_selected, "explained": mres.explained,
        "reused": mres.reused, "failures": [f.__dict__ for f in mres.failures], "top_percent": top_percent,
        "float32": float32, "precision": precision, "work": mres.work, "csv": rel(run, mres.csv),
        "npz": rel(run, mres.npz),
        "plots": [rel(run, p) for p in mres.plots],
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "provenance": provenance_record(),
    })
