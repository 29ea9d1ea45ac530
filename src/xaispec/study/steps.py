"""The project's steps: what each task of the book's graph does (corpus, store, splits,
training, evaluation, summaries, explanations).

Every step takes plain, picklable arguments (corpus name, project root, profile, ...) so
that any executor, local or on a Dask worker, can run it, and returns a small dict the
stamp records. :mod:`xaispec.book` plans which steps run; :mod:`xaispec.workflow` runs them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..errors import ParameterError
from ..events import EventLog
from ..models.runs import open_run


def _paths(root: str):
    from ..config import Paths

    return Paths(Path(root))


def corpus_root(corpus: str, root: str) -> Path:
    """Where a corpus is read from: ``data/raw/<name>``, or the manifest CSV itself."""
    from ..data.corpora import get_corpus

    spec = get_corpus(corpus)
    return Path(corpus) if spec.layout == "manifest" else _paths(root).corpus(spec.name)


def step_corpus(corpus: str, root: str, profile, source: str | None = None) -> dict:
    """Synthesize a synthetic corpus, fetch a real one (``source``: URL, archive or folder),
    or check that a manifest CSV exists. A synthetic corpus made with other sizes (another
    profile) is rebuilt with this profile's."""
    from ..data.corpora import get_corpus
    from ..errors import CorpusMismatch, DataError

    spec = get_corpus(corpus)
    paths = _paths(root)
    if spec.layout == "manifest":
        if not Path(corpus).is_file():
            raise DataError(f"{corpus}: manifest not found")
        return {"reused": True}
    if spec.name.startswith("synthetic-"):
        from ..data import synth

        kind = spec.name.split("-", 1)[1]
        out = paths.corpus(spec.name)
        manifest = out / "manifest.json"
        before = manifest.stat().st_mtime if manifest.is_file() else None
        if spec.kind == "cues":   # synthetic-cues-KIND: the planted-cue corpora share one section
            fn, kwargs = synth.synthesize_cues, dict(profile.get("synthetic.cues"), kind=kind.split("-", 1)[1])
            kwargs["band"] = tuple(kwargs["band"])
        else:
            cfg = profile.get(f"synthetic.{kind}")
            fn = synth.synthesize_digits if kind == "digits" else synth.synthesize_emotions
            size = {"participants": cfg["participants"]} if kind == "digits" else {"actors": cfg["actors"]}
            kwargs = dict(size, repetitions=cfg["repetitions"], sample_rate=cfg["sample_rate"])
        kwargs.update(seed=profile.get("seed"), progress=False)
        try:
            fn(out, **kwargs)
        except CorpusMismatch as exc:  # made by another profile: rebuilt at this one's size
            EventLog(paths.raw)("corpus_rebuilt", corpus=spec.name, profile=profile.name, reason=str(exc)[:300])
            fn(out, force=True, **kwargs)
        after = manifest.stat().st_mtime if manifest.is_file() else None
        return {"reused": before is not None and before == after}
    from ..data.fetch import fetch

    path = fetch(spec.name, source=source, dest=paths.corpus(spec.name), downloads_dir=paths.downloads,
                 progress=False, log=EventLog(paths.raw))
    return {"reused": True, "root": str(path)}


def step_prepare(corpus: str, root: str, profile, representation: str) -> dict:
    """Prepare one store (reused when up to date)."""
    from ..data.corpora import get_corpus
    from ..data.prepare import prepare

    spec = get_corpus(corpus)
    result = prepare(corpus, corpus_root(corpus, root), out_dir=_paths(root).processed / spec.name,
                     representation=representation, mode=profile.get("prepare.mode"),
                     long_clips=profile.get("prepare.long_clips"), seed=profile.get("seed"),
                     workers=profile.get("prepare.workers"), chunk_size=profile.get("prepare.chunk_size"),
                     progress=False)
    return {"reused": result.reused, "samples": result.n_samples, "skipped": len(result.skipped)}


def feasible_labels(corpus: str, root: str, profile, labels: Iterable[str]) -> dict[str, str]:
    """``{label: reason}`` of the labels whose folds cannot be made on this corpus."""
    from ..data.corpora import index_corpus
    from ..data.splits import speaker_folds

    table, _ = index_corpus(corpus, corpus_root(corpus, root))
    bad = {}
    for label in labels:
        try:
            speaker_folds(table, label=label, n_folds=profile.get("splits.n_folds"), seed=profile.get("seed"))
        except ParameterError as exc:
            bad[label] = str(exc)
    return bad


def step_splits(corpus: str, root: str, profile, labels: list[str]) -> dict:
    """Write the split files of every label that can be split (others are reported)."""
    from ..data.corpora import index_corpus
    from ..data.splits import write_splits

    table, _ = index_corpus(corpus, corpus_root(corpus, root))
    bad = feasible_labels(corpus, root, profile, labels)
    ok = [lab for lab in labels if lab not in bad]
    if not ok:
        raise ParameterError(f"no splits could be made for {corpus!r}: " + "; ".join(f"{k}: {v}" for k, v in bad.items()))
    run = open_run(corpus, root, profile)
    write_splits(table, run.dir, labels=ok, n_folds=profile.get("splits.n_folds"), seed=profile.get("seed"))
    return {"labels": ok, "infeasible": bad}


def step_train(corpus: str, root: str, profile, label: str, fold, model: str) -> dict:
    """Train one model (reused when an up-to-date one exists)."""
    from ..models.train import train

    run = open_run(corpus, root, profile)
    result = train(run, run.task(label, fold, model), profile, progress=False)
    return {"reused": result.reused, "epochs": len(result.history), "seconds": round(result.seconds, 1),
            "work": result.work or {}}


def step_evaluate(corpus: str, root: str, profile, label: str, fold, model: str) -> dict:
    """Predict the test fold; write predictions, metrics and the confusion matrix."""
    from ..models.evaluate import evaluate

    run = open_run(corpus, root, profile)
    task = run.task(label, fold, model)
    scores = evaluate(run, task)
    with open(run.predictions_path(task), encoding="utf-8") as f:
        n_test = sum(1 for _ in f) - 1  # one row per test sample predicted, after the header
    return {**scores, "work": {"forward": n_test}}


def step_summarize(corpus: str, root: str, profile, label: str, model: str, folds: list) -> dict:
    """Mean and standard deviation over the folds; the mean confusion matrices."""
    from ..models.evaluate import summarize

    run = open_run(corpus, root, profile)
    summary = summarize(run, label, model, list(folds))
    if label == "emotion" and model == "cnn1d" and run.evaluation_path(run.task("emotion", "random", "cnn1d")).is_file():
        from ..models import evaluate as ev

        if hasattr(ev, "compare_protocols"):
            ev.compare_protocols(run, list(folds))
    return {"accuracy": float(summary["evaluation"].loc["mean", "accuracy"])}


def book_samples(run, task, options: dict, *, seed: int = 0, model=None):
    """The samples the book explains for one model, with the part of the book each is for.

    AlexNet and AudioNet: the study's ``examples`` mode (``options["examples"]`` per digit and sex,
    the first ``options["examples_max"]`` of them when that is above 0), then the first
    ``wrong`` and ``correct`` predictions. Emotion models: one row per emotion and sex,
    ``options["rows"]`` of them spread over the classes. Returns the rows of
    :func:`xaispec.study.samples.test_table` with a ``section`` column
    (``examples``, ``wrong``, ``correct``); a sample in several sections is listed once,
    under the first.
    """
    import numpy as np
    import pandas as pd

    from .samples import select_examples, select_predictions, test_table

    table = test_table(run, task, model=model)
    parts = []
    if task.model in ("alexnet", "audionet"):
        examples = select_examples(table, task, mode="examples", n=int(options.get("examples", 1)), seed=seed)
        limit = int(options.get("examples_max", 0) or 0)
        if limit > 0:
            examples = examples.head(limit)
        parts.append(examples.assign(section="examples"))
        for which in ("wrong", "correct"):
            n = int(options.get(which, 0) or 0)
            if n > 0:
                chosen = select_predictions(table, which=which, first=None)
                parts.append(chosen.head(n).assign(section=which))
    else:
        examples = select_examples(table, task, mode="examples", n=1, seed=seed)
        k = min(int(options.get("rows", 8)), len(examples))
        if k < len(examples):
            examples = examples.iloc[np.unique(np.linspace(0, len(examples) - 1, k).round().astype(int))]
        parts.append(examples.assign(section="examples"))
    samples = pd.concat(parts, ignore_index=True) if parts else table.head(0).assign(section=[])
    return samples.drop_duplicates("sample_id").reset_index(drop=True)


def step_explain(corpus: str, root: str, profile, label: str, fold, model: str, method: str,
                 options: dict | None = None) -> dict:
    """Explain the book's samples of one model with one method (see :mod:`xaispec.study.stage`):
    figures, panels, audible explanations and the ``explanations/{method}_{short}.csv`` table."""
    from ..models.loading import load_model
    from . import stage
    from .options import ExplainOptions

    options = dict(options or {})
    run = open_run(corpus, root, profile)
    task = run.task(label, fold, model)
    keras_model = load_model(run, task)
    samples = book_samples(run, task, options, seed=profile.get("seed"), model=keras_model)
    from ..explain import METHODS

    params = {method: dict(options.get("params") or {})}  # the profile's book.explainer_params
    if options.get("background") and "n_background" in METHODS[method].defaults:
        params[method]["n_background"] = int(options["background"])
    opts = ExplainOptions(methods=[method], params=params, seed=profile.get("seed"),
                          top_percent=float(options.get("top_percent", 20.0)),
                          figures=bool(options.get("figures", True)), progress=False)
    result = stage.explain(run, task, samples, opts, model=keras_model,
                           selection={"way": "book", **options, "samples": len(samples)})
    failures = [f.line() for f in result.failures]
    if failures and len(failures) >= len(samples):
        raise RuntimeError(f"{method} failed on every sample of {task.name}: {failures[0]}")
    mres = result.methods[method]
    return {"samples": len(samples), "explained": mres.explained, "reused": mres.explained == 0 and not failures,
            "failures": failures[:20], "work": mres.work}


def step_measure(corpus: str, root: str, profile, label: str, fold, model: str, methods: list[str],
                 params: dict | None = None) -> dict:
    """Measure the book's explanations of one model with every metric (see :mod:`xaispec.study.measure`):
    the ``explanations/metrics_{short}*`` files the evaluation page reads."""
    from .measure import measure
    from .options import ExplainOptions

    run = open_run(corpus, root, profile)
    task = run.task(label, fold, model)
    options = ExplainOptions(params=params or {}, seed=profile.get("seed"), progress=False)
    result = measure(run, task, methods=methods, settings=profile.get("evaluate"), options=options, progress=False)
    failures = [f.line() for f in result.failures]
    return {"samples": len(result.sample_ids), "measured": result.measured, "reused": not result.measured,
            "failures": failures[:20], "work": {"forward": result.forward, "backward": result.backward}}


def step_groundtruth(corpus: str, root: str, profile, fold, methods: list[str], params: dict | None = None,
                     explained: int = 4, model: str = "alexnet") -> dict:
    """Localise the explanations of a planted-cue model against the ground truth and run its
    controls (see :mod:`xaispec.study.groundtruth`): the files the ground-truth page reads."""
    from ..explain import work
    from ..models.loading import float32_model, load_model
    from .groundtruth import controls, localise

    run = open_run(corpus, root, profile)
    task = run.task("cue", fold, model)
    keras_model = float32_model(load_model(run, task))   # one float32 copy for both (as the explanations used)
    before = work()
    found = localise(run, task, methods=methods, seed=profile.get("seed"), model=keras_model)
    checks = controls(run, task, corpus_root=corpus_root(corpus, root), methods=methods, params=params,
                      explained=explained, seed=profile.get("seed"), model=keras_model)
    spent = {k: int(v - before[k]) for k, v in work().items()}
    return {"samples": len(found.sample_ids), "accuracy": checks["accuracy"],
            "accuracy_removed": checks["accuracy_removed"], "kept_moved": checks["kept_moved"], "work": spent}
