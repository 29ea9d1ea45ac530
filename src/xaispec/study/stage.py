"""The explain stage: run the explanation methods on chosen samples of a model, write what they show.

:func:`explain` runs the methods of :mod:`xaispec.explain` on samples of one model (rows of
:func:`xaispec.study.samples.test_table`) as :class:`~xaispec.study.options.ExplainOptions`
say, and writes under the run folder:

- per sample, its waveform (and the clip as WAV) and spectrogram image:
  ``plots/{waveform,spectrograms}/{participant}/{sex}_{digit}_{participant}_{rep}.png``;
- per sample and method, the study's overlay at the study's name
  ``plots/xai/{method}/label_{label}_split_{fold}/{participant}/{stem}_predicted_{p}.png``,
  the better panel beside it (``..._panel.png``) and the audible explanation (``.wav``)
  (see :mod:`xaispec.study.pictures`);
- per method, ``explanations/{method}_{short}.csv``, ``.npz`` and ``.json`` (see
  :mod:`xaispec.study.results`);
- for the emotion 1D CNN (128 mel features, no time axis), SHAP summary (beeswarm) and bar
  plots per class and for the mean over classes, in ``plots/xai/{method}/{model name}/``,
  summarising every row in the method's result file.

The 2D emotion CNN (mel images) uses the same layout under ``label_emotion_cnn2d_split_{fold}``
(frequency axis: mel band index; time in s at 22,050 Hz, hop 512). Emotion samples have no
digit: their stem is ``{sex}_{emotion}_{actor}_{intensity}-{statement}-{repetition}``, the
waveform is the 2.5-s excerpt the features came from (``..._excerpt.png``/``.wav``) and the
spectrogram the mel image (``..._mel2d.png``).

Finished outputs are reused unless ``force``; every call logs to the run's ``events.log``.
A method that fails on a sample is reported in :attr:`ExplainResult.failures` and the other
samples and methods continue. :func:`explain_models`, :func:`explain_sample` and
:func:`explain_predictions` are the study's three ways of choosing the samples, then
:func:`explain`.
"""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from .._io import sha256_file
from ..errors import ParameterError, XaispecError
from ..events import EventLog
from ..models.runs import Run, ModelSpec
from .options import ExplainOptions
from .pictures import feature_plots, feature_plots_exist, method_figures, sample_figures
from .results import (ExplainResult, Failure, MethodResult, config_key, finished_ids, merge_results, read_results,
                      result_paths, run_relative, sample_extra, take_sample, write_record)
from .samples import select_examples, select_predictions, select_sample, task_store, test_table

#: methods explained in batches of samples (one compiled graph per batch); the others go
#: one sample at a time (they loop over samples internally anyway)
BATCHED = {"gradcam", "gradcam++", "saliency", "smoothgrad", "integrated_gradients", "shap_gradient", "shap_deep"}
BATCH = 16
#: training rows drawn as the SHAP background pool (each method takes its ``n_background``)
BACKGROUND_POOL = 200


def background_rows(run: Run, task: ModelSpec, store, scaling: dict, seed: int) -> np.ndarray:
    """Up to :data:`BACKGROUND_POOL` training rows, drawn with ``seed``, scaled as in training."""
    from ..models.datasets import BatchReader, apply_scaling, load_parts

    train = load_parts(run, task, store)["train"]
    take = np.sort(np.random.default_rng(seed).choice(len(train), min(BACKGROUND_POOL, len(train)), replace=False))
    reader = BatchReader(store.path)
    try:
        return apply_scaling(reader.read(train.refs[take]), scaling)
    finally:
        reader.close()


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def explain(run: Run, task: ModelSpec, samples: pd.DataFrame, options: ExplainOptions | None = None, *, model=None,
            selection: dict | None = None) -> ExplainResult:
    """Explain ``samples`` of one model as ``options`` say; write figures, sounds and result files.

    Parameters
    ----------
    run : Run
    task : ModelSpec
    samples : pd.DataFrame
        Rows of :func:`~xaispec.study.samples.test_table` (e.g. from
        :func:`~xaispec.study.samples.select_examples`).
    options : ExplainOptions, optional
        Methods, parameters, force, seed, precision, figures... (default: ``ExplainOptions()``).
    model : keras.Model, optional
        The loaded model (default: the task's model file).
    selection : dict, optional
        How the samples were chosen, recorded in the JSON files.

    Returns
    -------
    ExplainResult
        ``failures`` lists every (method, sample) that failed; the rest are done.
    """
    from tqdm.auto import tqdm

    from ..data.signals import Signals
    from ..explain import METHODS, Explanation, get_explainer, work
    from ..models.loading import float32_model, load_model, model_precision
    from ..models.datasets import BatchReader, apply_scaling, load_scaling

    o = options if options is not None else ExplainOptions()
    t0 = time.time()
    names = o.methods_for(task)
    missing_cols = {"sample_id", "array", "row", "target", "predicted"} - set(samples.columns)
    if missing_cols:
        raise ParameterError(f"samples lack columns {sorted(missing_cols)}: choose them with test_table()/select_*()")
    log = EventLog(run.dir)
    store = task_store(run, task)
    model = model if model is not None else load_model(run, task)
    if o.float32:
        model = float32_model(model)
    precision = model_precision(model)
    refused = [n for n in names if precision != "float32" and not METHODS[n].bfloat16]
    if refused:
        raise ParameterError(f"{', '.join(refused)}: explaining the model as trained ({precision}) is not offered, "
                             "its maps do not agree with float32's (bench/RESULTS.md); explain in float32, "
                             "the default")
    scaling = load_scaling(run, task)
    samples = samples.reset_index(drop=True)
    result = ExplainResult(task, samples)
    if samples.empty:
        log("explain_nothing", task=task.name, methods=names)
        return result

    # every explainer is built first: unknown methods or parameters fail before any work
    background = None
    explainers = {}
    for name in names:
        p = o.params_for(task, name, scaling)
        if "background" in METHODS[name].defaults and p.get("background") is None:
            if background is None:
                background = background_rows(run, task, store, scaling, o.seed)
            p["background"] = background
        explainers[name] = get_explainer(name, model, **p)

    reader = BatchReader(store.path)
    try:
        raw = reader.read(samples[["array", "row"]].to_numpy(dtype=np.int64))
    finally:
        reader.close()
    x = apply_scaling(raw, scaling)
    tabular = raw.ndim == 2 and task.model != "audionet"  # (n, features): the 1D CNN
    signal = Signals(store, samples, task.representation, o.corpus_root)

    model_sha = sha256_file(run.model_path(task)) if run.model_path(task).is_file() else None
    log("explain_start", task=task.name, methods=names, samples=len(samples), force=o.force,
        selection=json.dumps(selection or {}, default=str))
    bar = tqdm(total=len(samples) * len(names), desc=f"explain {task.name}", unit="map", disable=not o.progress)
    try:
        # 1. the samples' own figures (independent of the method)
        if o.figures and not tabular:
            for i in range(len(samples)):
                row = samples.iloc[i]
                try:
                    result.figures += sample_figures(run, task, row, raw[i], lambda: signal(i),
                                                     scale=o.scale_waveform, force=o.force)
                except XaispecError as exc:
                    f = Failure(task.name, "figures", str(row["sample_id"]), _error_text(exc))
                    result.failures.append(f)
                    signal.forget(i)
                    log("explain_failed", task=task.name, method="figures", sample_id=f.sample_id, error=f.error)

        # 2. each method
        for name in names:
            before = work()
            mres = _explain_method(run, task, name, explainers[name], samples, x, raw, signal, bar=bar, log=log,
                                   force=o.force, figures=o.figures and not tabular, top_percent=o.top_percent,
                                   model_sha=model_sha, float32=o.float32)
            if tabular and o.figures and (mres.explained or o.force or not feature_plots_exist(run, task, name)):
                expl = Explanation.load(mres.npz) if mres.npz.is_file() else None
                if expl is not None and "inputs" in expl.extra:
                    try:
                        mres.plots = feature_plots(run, task, name, expl, expl.extra["inputs"])
                    except Exception as exc:  # a plot failure is reported, the rest continues
                        mres.failures.append(Failure(task.name, name, "plots", _error_text(exc)))
            mres.work = {k: v - before[k] for k, v in work().items()}
            write_record(run, task, name, explainers[name], mres, model_sha=model_sha, selection=selection,
                         top_percent=o.top_percent, float32=o.float32, precision=precision,
                         n_selected=len(samples))
            result.methods[name] = mres
            result.failures += mres.failures
            log("explain_done", task=task.name, method=name, explained=mres.explained, reused=mres.reused,
                failed=len(mres.failures), precision=precision, csv=str(mres.csv), **mres.work)
    finally:
        bar.close()
    result.seconds = time.time() - t0
    return result


def _explain_method(run: Run, task: ModelSpec, name: str, explainer, samples: pd.DataFrame, x: np.ndarray,
                    raw: np.ndarray, signal, *, bar, log, force: bool, figures: bool, top_percent: float,
                    model_sha=None, float32: bool = False) -> MethodResult:
    """Explain the samples not yet done with one method; merge into its result files."""
    mres = MethodResult(name, *result_paths(run, task, name))
    config = config_key(explainer, model_sha, top_percent, float32)
    tabular = raw.ndim == 2
    ids = samples["sample_id"].astype(str).tolist()

    # what is already finished: a CSV row, a map in the npz and (when drawn) its files
    old_table, old = read_results(mres)
    done = set() if force else finished_ids(run, old_table, old, ids, config, figures=figures)
    todo = [i for i, sid in enumerate(ids) if sid not in done]
    mres.reused = len(ids) - len(todo)
    bar.update(mres.reused)
    if not todo:
        return mres

    rows, parts, part_ids = [], [], []
    chunk = BATCH if name in BATCHED else 1
    queue = [todo[i:i + chunk] for i in range(0, len(todo), chunk)]
    while queue:
        idx = queue.pop(0)
        try:
            expl = explainer.explain(x[idx], samples["target"].to_numpy(dtype=np.int64)[idx])
        except Exception as exc:
            if len(idx) > 1:  # find the sample(s) that fail: one at a time
                queue = [[i] for i in idx] + queue
                continue
            f = Failure(task.name, name, ids[idx[0]], _error_text(exc))
            mres.failures.append(f)
            log("explain_failed", task=task.name, method=name, sample_id=f.sample_id, error=f.error)
            bar.update(1)
            continue
        if tabular:
            expl.extra["inputs"] = x[idx].reshape(len(idx), -1)
        per_sample = expl.runtime / len(idx)
        for j, i in enumerate(idx):
            row = samples.iloc[i]
            paths = {"figure": None, "panel": None, "wav": None}
            if figures:
                try:
                    paths = method_figures(run, task, name, row, raw[i], signal(i), expl.maps[j],
                                           sample_extra(expl, j), top_percent=top_percent)
                except Exception as exc:
                    f = Failure(task.name, name, ids[i], "figures: " + _error_text(exc))
                    mres.failures.append(f)
                    log("explain_failed", task=task.name, method=name, sample_id=f.sample_id, error=f.error)
                    bar.update(1)
                    continue
            parts.append(take_sample(expl, j))
            part_ids.append([ids[i]])
            rows.append({"sample_id": ids[i], "participant": row["participant"], "sex": row["sex"],
                         "actual": row["actual"], "predicted": row["predicted"], "target": int(expl.targets[j]),
                         "target_class": task.classes[int(expl.targets[j])], "runtime": round(per_sample, 6),
                         "config": config, "figure": run_relative(run, paths["figure"]),
                         "panel": run_relative(run, paths["panel"]), "wav": run_relative(run, paths["wav"])})
            bar.update(1)
    mres.explained = len(rows)
    if rows:  # merged with what was kept from earlier calls (those rows are replaced when redone)
        merge_results(mres, old_table, old, parts, part_ids, rows)
    return mres


def explain_models(run: Run, tasks: list[ModelSpec], options: ExplainOptions | None = None, *, mode: str = "examples",
                   n: int = 1) -> list[ExplainResult]:
    """The study's first way: several models, each with mode ``examples``, ``all`` or ``single``.

    Parameters
    ----------
    run : Run
    tasks : list of ModelSpec
    options : ExplainOptions, optional
        Passed to :func:`explain`; its ``seed`` also draws the examples.
    mode, n
        See :func:`~xaispec.study.samples.select_examples`.

    Returns
    -------
    list of ExplainResult
        One per task.
    """
    from ..models.loading import load_model

    o = options if options is not None else ExplainOptions()
    out = []
    for task in tasks:
        model = load_model(run, task)
        table = test_table(run, task, model=model)
        samples = select_examples(table, task, mode=mode, n=n, seed=o.seed)
        out.append(explain(run, task, samples, o, model=model,
                           selection={"way": "models", "mode": mode, "n": n, "seed": o.seed}))
    return out


def explain_sample(run: Run, task: ModelSpec, options: ExplainOptions | None = None, *, sample_id: str | None = None,
                   digit=None, participant=None, repetition=None) -> ExplainResult:
    """The study's second way: one given sample of one model (see :func:`~xaispec.study.samples.select_sample`)."""
    from ..models.loading import load_model

    model = load_model(run, task)
    table = test_table(run, task, model=model)
    samples = select_sample(table, run, task, sample_id=sample_id, digit=digit, participant=participant,
                            repetition=repetition)
    sel = {"way": "sample", "sample_id": sample_id, "digit": digit, "participant": participant,
           "repetition": repetition}
    return explain(run, task, samples, options, model=model, selection=sel)


def explain_predictions(run: Run, task: ModelSpec, options: ExplainOptions | None = None, *, which: str = "wrong",
                        first: int | None = None) -> ExplainResult:
    """The study's third way: the ``wrong`` or ``correct`` predictions of one model, optionally the first N."""
    from ..models.loading import load_model

    model = load_model(run, task)
    table = test_table(run, task, model=model)
    samples = select_predictions(table, which=which, first=first)
    return explain(run, task, samples, options, model=model,
                   selection={"way": "predictions", "which": which, "first": first})
