"""The measurement stage: every metric of :mod:`xaispec.evaluation` on the explanations of one model.

:func:`measure` reads the maps the explain stage wrote (``explanations/{method}_{short}.npz``),
takes the first ``samples`` test samples every method explained, adds the two floors
(``random`` noise and the input's ``energy``) on the same samples, and measures each method
on the float32 model the explanations used. It writes beside the explanations:

- ``metrics_{short}.csv``: one row per method, metric and sample (``value``);
- ``metrics_{short}_summary.csv``: mean and 95% bootstrap interval per method and metric;
- ``metrics_{short}_agreement.csv``: the methods' mean rank correlation, method x method;
- ``metrics_{short}_curves.npz``: the curves behind the values (``{method}/{metric}``, ``.../axis``) and
  the randomisation check's maps of its first sample (``{method}/mprt_spearman/examples``);
- ``metrics_{short}.json``: per method its reuse key, every metric's parameters (baseline,
  steps, seed) and forward rows, the failures, the settings and provenance.

A method whose key (settings, samples, explanation file, model file, metric rule) is
unchanged is reused unless ``force``; a method that fails is reported and the rest go on.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_path, sha256_file, write_json_atomic, write_text_atomic
from ..errors import DataError
from ..evaluation.summary import FLOORS
from ..events import EventLog
from ..models.runs import ModelSpec, Run
from .results import Failure, provenance_record, result_paths

#: dB value of silence in the spectrogram and mel-image stores (relative to each clip's maximum)
SILENCE_DB = -80.0


@dataclass
class MeasureResult:
    """What :func:`measure` did for one model."""

    task: ModelSpec
    methods: list[str]
    sample_ids: list[str]
    measured: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    summary: pd.DataFrame | None = None
    forward: int = 0
    backward: int = 0
    seconds: float = 0.0


def measure_paths(run: Run, task: ModelSpec) -> dict[str, Path]:
    """The result files of :func:`measure` for ``task`` (keys ``csv``, ``summary``, ``agreement``, ``curves``, ``json``)."""
    stem = run.dir / "explanations" / f"metrics_{task.short}"
    return {"csv": stem.with_suffix(".csv"), "summary": stem.with_name(stem.name + "_summary.csv"),
            "agreement": stem.with_name(stem.name + "_agreement.csv"),
            "curves": stem.with_name(stem.name + "_curves.npz"), "json": stem.with_suffix(".json")}


def explained_methods(run: Run, task: ModelSpec) -> list[str]:
    """The methods with an explanation file for ``task``, floors excluded, in name order."""
    from ..explain import METHODS

    return [m for m in sorted(METHODS) if m not in FLOORS and result_paths(run, task, m)[1].is_file()]


def silence(task: ModelSpec, scaling: dict, shape: tuple[int, ...]) -> np.ndarray:
    """A removed cell's value in the model's input space, shape ``shape``.

    Spectrograms and mel images: -80 dB after the fold's scaling. Mel features (the 1D CNN):
    the training mean, which the standardisation maps to 0.
    """
    from ..models.datasets import apply_scaling

    if task.representation == "mel128":
        return np.zeros(shape, dtype=np.float32)
    return apply_scaling(np.full((1, *shape), SILENCE_DB, dtype=np.float32), scaling)[0, ..., 0]


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _hearing(run: Run, task: ModelSpec, store, rows: pd.DataFrame, scaling: dict, corpus_root):
    """The recordings and the store's spectrogram, for the sound metrics (AlexNet only)."""
    from ..audio import features
    from ..data.signals import Signals
    from ..evaluation.suite import Hearing
    from ..models.datasets import apply_scaling

    signal = Signals(store, rows.reset_index(drop=True), task.representation, corpus_root)
    signals = [signal(i) for i in range(len(rows))]
    if any(s is None for s in signals):
        raise DataError("a measured sample has no recording of its own (a noise-augmented copy)")
    spectrogram = features.alexnet_spectrogram_fast if signal.mode == "fast" else features.alexnet_spectrogram

    def to_input(audio):
        return apply_scaling(np.stack([spectrogram(a) for a in audio]), scaling)[..., 0]

    return Hearing(np.stack(signals), to_input)


def floor_maps(model, x, *, waveform: bool = False) -> dict[str, np.ndarray]:
    """The maps of the two floors (``random``, ``energy``) of inputs ``x``, shape (n, *spatial);
    a ``waveform``'s energy floor is its amplitude ``|x|``, a level's (dB) its height above the minimum."""
    from ..explain import get_explainer

    params = {"energy": {"of": "amplitude" if waveform else "level"}}
    return {name: get_explainer(name, model, **params.get(name, {})).explain(x, targets=0).maps for name in FLOORS}


def _recompute(task: ModelSpec, name: str, options, background, scaling: dict):
    from ..evaluation.sanity import recompute_with
    from ..explain import METHODS

    p = options.params_for(task, name, scaling) if name not in FLOORS else {}
    if "background" in METHODS[name].defaults and p.get("background") is None:
        p["background"] = background()
    return recompute_with(name, **p)


def measure(run: Run, task: ModelSpec, *, methods=None, settings: dict | None = None, options=None,
            samples: int | None = None, force: bool = False, progress: bool = True, model=None) -> MeasureResult:
    """Measure the explanations of one model; write the result files (see the module's docstring).

    Parameters
    ----------
    run : Run
    task : ModelSpec
    methods : sequence of str, optional
        Explained methods to measure (default: every method with an explanation file).
    settings : dict, optional
        The profile's ``evaluate`` section (counts; see :data:`xaispec.evaluation.suite.SETTINGS`).
    options : ExplainOptions, optional
        The explanation parameters and seed the maps were made with (re-explaining checks use them).
    samples : int, optional
        Samples measured (default: ``settings["samples"]``, else 8).
    force : bool
        Measure again even where the results are current.
    model : keras.Model, optional
        The loaded model (default: the task's model file).

    Raises
    ------
    DataError
        No explanation files, or no sample every method explained.
    """
    from tqdm.auto import tqdm

    from ..evaluation.agreement import agreement_matrix
    from ..evaluation.summary import long_table, summarise
    from ..evaluation.suite import METRIC_RULE, check_settings, run_suite
    from ..explain import Explanation, work
    from ..models.datasets import BatchReader, apply_scaling, load_scaling
    from ..models.loading import float32_model, load_model
    from .options import ExplainOptions
    from .samples import task_store, test_table
    from .stage import background_rows

    t0 = time.time()
    settings = dict(settings or {})
    n = int(samples or settings.get("samples") or 8)
    suite_settings = check_settings(settings)
    options = options if options is not None else ExplainOptions()
    names = list(dict.fromkeys(methods or explained_methods(run, task)))
    names = [m for m in names if m not in FLOORS]  # the floors are always measured
    missing = [m for m in names if not result_paths(run, task, m)[1].is_file()]
    if missing or not names:
        raise DataError(f"{run.dir / 'explanations'}: no explanations of {task.name} by "
                        f"{', '.join(missing) or 'any method'} (run 'xaispec explain {run.processed.name} "
                        f"--label {task.label} --fold {task.fold}' first)")
    expls = {m: Explanation.load(result_paths(run, task, m)[1]) for m in names}
    ids = [str(s) for s in expls[names[0]].extra["sample_ids"]]
    for m in names[1:]:
        have = set(str(s) for s in expls[m].extra["sample_ids"])
        ids = [s for s in ids if s in have]
    ids = [s for s in ids if "#" not in s][:n]
    if not ids:
        raise DataError(f"{run.dir / 'explanations'}: no test sample of {task.name} explained by every one of "
                        f"{', '.join(names)}")

    log = EventLog(run.dir)
    model = float32_model(model if model is not None else load_model(run, task))
    store = task_store(run, task)
    table = test_table(run, task, model=model).set_index("sample_id").loc[ids].reset_index()
    scaling = load_scaling(run, task)
    reader = BatchReader(store.path)
    try:
        x = apply_scaling(reader.read(table[["array", "row"]].to_numpy(dtype=np.int64)), scaling)[..., 0]
    finally:
        reader.close()
    baseline = silence(task, scaling, x.shape[1:])
    labels = table["actual_index"].to_numpy(dtype=np.int64)
    maps, targets = {}, {}
    for m, e in expls.items():  # each method's rows of the measured samples, in their order
        where = {str(sid): i for i, sid in enumerate(e.extra["sample_ids"])}
        rows = [where[s] for s in ids]
        maps[m], targets[m] = e.maps[rows], e.targets[rows]
    for name, floor in floor_maps(model, x).items():
        maps[name], targets[name] = floor, table["target"].to_numpy(dtype=np.int64)
    order = names + list(FLOORS)
    result = MeasureResult(task, order, ids)

    paths = measure_paths(run, task)
    old = json.loads(paths["json"].read_text()) if paths["json"].is_file() and not force else {}
    old_rows = pd.read_csv(paths["csv"], dtype={"sample_id": str}) if paths["csv"].is_file() and old else None
    old_curves = {}
    if paths["curves"].is_file() and old:
        with np.load(paths["curves"]) as z:
            old_curves = {k: z[k] for k in z.files}
    model_sha = sha256_file(run.model_path(task)) if run.model_path(task).is_file() else None
    hearing = None
    if task.representation == "alexnet":
        try:
            hearing = _hearing(run, task, store, table, scaling, options.corpus_root)
        except DataError as exc:
            result.failures.append(Failure(task.name, "sound", "*", str(exc)))
            log("measure_failed", task=task.name, method="sound", error=str(exc))
    cache: dict = {}

    def background():
        if "bg" not in cache:
            cache["bg"] = background_rows(run, task, store, scaling, options.seed)
        return cache["bg"]

    frames, curves, records = [], {}, {}
    log("measure_start", task=task.name, methods=order, samples=len(ids), force=force)
    for name in tqdm(order, desc=f"measure {task.name}", unit="method", disable=not progress):
        npz = result_paths(run, task, name)[1]
        key = _key(METRIC_RULE, suite_settings, ids, model_sha, options.seed, hearing is not None,
                   sha256_file(npz) if name not in FLOORS else name)
        prev = old.get("methods", {}).get(name, {})
        if prev.get("key") == key and old_rows is not None and (old_rows["method"] == name).any():
            frames.append(old_rows[old_rows["method"] == name])
            curves.update({k: v for k, v in old_curves.items() if k.split("/")[0] == name})
            records[name] = prev
            result.reused.append(name)
            continue
        before = work()
        try:
            scores = run_suite(model, x, maps[name], targets[name], labels, baseline=baseline, settings=suite_settings,
                               recompute=_recompute(task, name, options, background, scaling), n_classes=len(task.classes),
                               seed=options.seed, hearing=hearing)
        except Exception as exc:  # one method failing leaves the others measured
            text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            result.failures.append(Failure(task.name, name, "*", f"{type(exc).__name__}: {text}"))
            log("measure_failed", task=task.name, method=name, error=text)
            continue
        frames.append(pd.concat([long_table({name: {m: s}}, ids[:len(s.values)]) for m, s in scores.items()]))
        for metric, s in scores.items():
            if s.curves is not None:
                curves[f"{name}/{metric}"], curves[f"{name}/{metric}/axis"] = s.curves, s.axis
            if s.examples is not None:
                curves[f"{name}/{metric}/examples"] = s.examples
        # every row the suite ran through a network, re-explanations included (a metric's own
        # ``forward`` is shared by the metrics computed in the same call)
        spent = {k: int(v - before[k]) for k, v in work().items()}
        records[name] = {"key": key, "metrics": {m: {k: v for k, v in s.summary().items() if k != "values"}
                                                 for m, s in scores.items()}, **spent}
        result.measured.append(name)
        result.forward += spent["forward"]
        result.backward += spent["backward"]
        log("measure_done", task=task.name, method=name, forward=records[name]["forward"])
    if not frames:
        raise DataError(f"{task.name}: every method failed to be measured; see {run.dir / 'events.log'}")
    rows = pd.concat(frames, ignore_index=True)
    directions = {m: d["higher_is_better"] for r in records.values() for m, d in r["metrics"].items()}
    result.summary = summarise(rows, directions, seed=options.seed)
    agreement = agreement_matrix({m: maps[m] for m in order if m in records})
    write_text_atomic(paths["csv"], rows.to_csv(index=False))
    write_text_atomic(paths["summary"], result.summary.to_csv(index=False))
    write_text_atomic(paths["agreement"], agreement.to_csv())
    with atomic_path(paths["curves"]) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **curves)
    write_json_atomic(paths["json"], {
        "task": task.name, "label": task.label, "fold": task.fold, "model": task.model, "sample_ids": ids,
        "methods": records, "floors": list(FLOORS), "settings": suite_settings, "seed": options.seed,
        "baseline": {"meaning": "silence" if task.representation != "mel128" else "training mean",
                     "value": float(np.mean(baseline))},
        "failures": [f.__dict__ for f in result.failures], "measured": result.measured, "reused": result.reused,
        "model_sha256": model_sha, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "provenance": provenance_record(),
    })
    result.seconds = time.time() - t0
    return result


def read_measurements(run: Run, task: ModelSpec) -> dict:
    """The result files of :func:`measure` as ``{"rows", "summary", "agreement", "curves", "record"}``.

    Raises
    ------
    DataError
        When they are missing (the message names the command that makes them).
    """
    paths = measure_paths(run, task)
    if not all(p.is_file() for p in paths.values()):
        raise DataError(f"{paths['json']}: no measured explanations (run 'xaispec evaluate-explanations "
                        f"{run.processed.name} --label {task.label} --fold {task.fold}')")
    with np.load(paths["curves"]) as z:
        curves = {k: z[k] for k in z.files}
    return {"rows": pd.read_csv(paths["csv"], dtype={"sample_id": str}), "summary": pd.read_csv(paths["summary"]),
            "agreement": pd.read_csv(paths["agreement"], index_col=0), "curves": curves,
            "record": json.loads(paths["json"].read_text(encoding="utf-8"))}

