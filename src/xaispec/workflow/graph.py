"""The book's work as a graph of tasks, and pluggable executors that run it.

A :class:`Task` is one step: synthesize or download a corpus, prepare a store, write the
splits, train one model, evaluate it, summarize a label's folds, explain one model with
one method, execute one chapter, build the book. It names the tasks it depends on, the
files it produces (``outputs``) and the settings that decide its result (``config``).

A task is **up to date**, and skipped, when its stamp file (``<state>/stamps/<id>.json``)
records the same hash of its id and config, all its outputs exist, and neither a
dependency's stamp nor a dependency's output is newer than its own stamp. The library
functions behind the tasks also reuse finished work (a store, a trained model), so a
task that runs only to find its work already done records the time of what it reused
and does not make its dependents run again.

Executors are pluggable; both run the same graph and return the same :class:`Result`:

* :class:`LocalExecutor`: one task at a time in this process, a progress bar over the
  tasks, every start, skip, success and failure in ``<state>/events.log``.
* :class:`DaskExecutor`: every task submitted to a ``dask.distributed`` cluster (a
  ``LocalCluster`` it starts, or an existing scheduler's address), dependencies as
  futures, so the same graph runs on many machines sharing the project folder.

A failing task is recorded with its error and traceback, the tasks that depend on it
are not run (``blocked``), all others go on; tasks marked ``always`` (the book build)
run even when some of their dependencies failed.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .._io import write_json_atomic
from ..errors import ParameterError
from ..events import EventLog

#: states of a finished task
DONE, UP_TO_DATE, FAILED, BLOCKED = "done", "up to date", "failed", "blocked"


# ---------------------------------------------------------------- tasks and the graph

@dataclass(frozen=True)
class Task:
    """One step of the graph.

    Attributes
    ----------
    id : str
        Unique name, e.g. ``train:synthetic-digits:digit:0:alexnet``.
    fn : callable
        A module-level function (so it pickles by reference for a cluster) called as
        ``fn(**kwargs)``; it may return a dict (``{"reused": True}`` when it found its
        work done), which is kept in the result.
    kwargs : dict
        Its arguments (picklable).
    deps : tuple of str
        Ids of the tasks that must be done first.
    outputs : tuple of str
        Files that exist once the task is done.
    config : JSON-able
        What decides the result besides the dependencies; part of the stamp's hash.
    always : bool
        Run even when a dependency failed (e.g. the book build), and never skip.
    """

    id: str
    fn: Callable[..., Any]
    kwargs: dict = field(default_factory=dict)
    deps: tuple = ()
    outputs: tuple = ()
    config: Any = None
    always: bool = False

    def hash(self) -> str:
        text = json.dumps({"id": self.id, "config": self.config}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def kind(self) -> str:
        return self.id.split(":", 1)[0]


@dataclass
class TaskResult:
    """What happened to one task: ``state`` is done, up to date, failed or blocked."""

    id: str
    state: str
    seconds: float = 0.0
    error: str | None = None
    traceback: str | None = None
    info: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state in (DONE, UP_TO_DATE)

    def line(self) -> str:
        text = f"{self.id}: {self.state}"
        if self.state == DONE:
            text += f" in {self.seconds:.1f} s"
        if self.error:
            text += f": {self.error}"
        return text


@dataclass
class Result:
    """The results of one execution, in the order the graph lists its tasks."""

    results: dict[str, TaskResult]
    seconds: float = 0.0

    @property
    def failures(self) -> list[TaskResult]:
        return [r for r in self.results.values() if r.state == FAILED]

    @property
    def blocked(self) -> list[TaskResult]:
        return [r for r in self.results.values() if r.state == BLOCKED]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.blocked

    def count(self, state: str) -> int:
        return sum(r.state == state for r in self.results.values())

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in (DONE, UP_TO_DATE, FAILED, BLOCKED) if self.count(s)]
        return f"{len(self.results)} tasks: " + ", ".join(parts) + f" ({self.seconds:.0f} s)"


class Graph:
    """Tasks by id; ``state_dir`` holds the stamps and the events log.

    Parameters
    ----------
    state_dir : path-like
        Folder of ``stamps/`` and ``events.log`` (the book's run folder).
    """

    def __init__(self, state_dir: str | os.PathLike):
        self.state_dir = Path(state_dir)
        self.tasks: dict[str, Task] = {}

    def __len__(self) -> int:
        return len(self.tasks)

    def __contains__(self, task_id: str) -> bool:
        return task_id in self.tasks

    def __getitem__(self, task_id: str) -> Task:
        return self.tasks[task_id]

    def add(self, task: Task) -> Task:
        """Add ``task``; adding the same id again with the same config returns the first one."""
        old = self.tasks.get(task.id)
        if old is not None:
            if old.hash() != task.hash():
                raise ParameterError(f"task {task.id!r} added twice with different settings")
            if set(task.deps) - set(old.deps):
                old = Task(**{**old.__dict__, "deps": tuple(dict.fromkeys(old.deps + task.deps))})
                self.tasks[task.id] = old
            return old
        self.tasks[task.id] = task
        return task

    def order(self) -> list[Task]:
        """Tasks in dependency order (insertion order among independent ones).

        Raises
        ------
        ParameterError
            A dependency that is not in the graph, or a cycle.
        """
        for task in self.tasks.values():
            missing = [d for d in task.deps if d not in self.tasks]
            if missing:
                raise ParameterError(f"task {task.id!r} depends on unknown task(s) {missing}")
        done: dict[str, None] = {}
        visiting: set[str] = set()

        def visit(tid: str) -> None:
            if tid in done:
                return
            if tid in visiting:
                raise ParameterError(f"the task graph has a cycle through {tid!r}")
            visiting.add(tid)
            for dep in self.tasks[tid].deps:
                visit(dep)
            visiting.discard(tid)
            done[tid] = None

        for tid in self.tasks:
            visit(tid)
        return [self.tasks[t] for t in done]

    def subgraph(self, targets: Iterable[str]) -> "Graph":
        """The tasks ``targets`` and everything they depend on."""
        sub = Graph(self.state_dir)
        keep: dict[str, None] = {}
        stack = list(targets)
        while stack:
            tid = stack.pop()
            if tid in keep:
                continue
            if tid not in self.tasks:
                raise ParameterError(f"unknown task {tid!r}")
            keep[tid] = None
            stack.extend(self.tasks[tid].deps)
        for task in self.order():
            if task.id in keep:
                sub.tasks[task.id] = task
        return sub

    def dependents(self, task_id: str) -> set[str]:
        """Every task that depends on ``task_id``, directly or not."""
        out: set[str] = set()
        changed = True
        while changed:
            changed = False
            for task in self.tasks.values():
                if task.id not in out and (task_id in task.deps or out & set(task.deps)):
                    out.add(task.id)
                    changed = True
        return out

    def stale(self) -> list[str]:
        """Ids of the tasks that would run now (not up to date), in order."""
        return [t.id for t in self.order() if not is_up_to_date(t, [self.tasks[d] for d in t.deps], self.state_dir)]

    def log(self) -> EventLog:
        return EventLog(self.state_dir)


# ---------------------------------------------------------------- stamps

def _safe(task_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", task_id)[:180] + "-" + hashlib.sha1(task_id.encode()).hexdigest()[:8]


def stamp_path(state_dir: str | os.PathLike, task_id: str) -> Path:
    return Path(state_dir) / "stamps" / f"{_safe(task_id)}.json"


def read_stamp(state_dir, task_id: str) -> dict | None:
    path = stamp_path(state_dir, task_id)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _mtime(path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _time_of(task: Task, state_dir) -> float:
    """When ``task``'s result last changed: its stamp time, or its newest output."""
    stamp = read_stamp(state_dir, task.id)
    t = stamp["time"] if stamp else 0.0
    return max([t, *(_mtime(o) for o in task.outputs)])


def is_up_to_date(task: Task, deps: list[Task], state_dir) -> bool:
    """Same hash, every output present, nothing a dependency made is newer."""
    if task.always:
        return False
    stamp = read_stamp(state_dir, task.id)
    if not stamp or stamp.get("hash") != task.hash():
        return False
    if not all(Path(o).exists() for o in task.outputs):
        return False
    return all(_time_of(d, state_dir) <= stamp["time"] for d in deps)


def write_stamp(task: Task, deps: list[Task], state_dir, info: dict, seconds: float) -> None:
    if task.always:
        return
    now = time.time()
    if info.get("reused"):
        # nothing new was made: the result is as old as what it was made from
        newest = [_time_of(d, state_dir) for d in deps] + [_mtime(o) for o in task.outputs]
        now = max(newest) if newest else now
    write_json_atomic(stamp_path(state_dir, task.id),
                      {"id": task.id, "hash": task.hash(), "time": now, "seconds": round(seconds, 2),
                       "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "work": _jsonable(info.get("work") or {})})


def execute_task(task: Task, deps: list[Task], dep_results: list[TaskResult], state_dir) -> TaskResult:
    """Run one task where its dependencies' results are known (here or on a worker).

    Blocked when a dependency failed or was blocked (unless ``task.always``); up to date
    when its stamp says so; otherwise ``task.fn(**task.kwargs)`` is called and any
    exception is caught into a failed result with its traceback.
    """
    bad = [r.id for r in dep_results if not r.ok]
    if bad and not task.always:
        return TaskResult(task.id, BLOCKED, error=f"not run: {', '.join(bad[:3])}"
                          + (f" and {len(bad) - 3} more" if len(bad) > 3 else "") + " did not succeed")
    if is_up_to_date(task, deps, state_dir):
        return TaskResult(task.id, UP_TO_DATE)
    t0 = time.perf_counter()
    try:
        info = task.fn(**task.kwargs) or {}
        if not isinstance(info, dict):
            info = {"value": info}
        missing = [o for o in task.outputs if not Path(o).exists()]
        if missing:
            raise RuntimeError(f"task finished without writing {missing[0]}")
    except BaseException as exc:  # noqa: BLE001 - a failing task must not stop the others
        if isinstance(exc, KeyboardInterrupt):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return TaskResult(task.id, FAILED, time.perf_counter() - t0,
                          error=f"{type(exc).__name__}: {message}"[:2000], traceback=traceback.format_exc())
    seconds = time.perf_counter() - t0
    write_stamp(task, deps, state_dir, info, seconds)
    return TaskResult(task.id, DONE, seconds, info=_jsonable(info))


def _jsonable(info: dict) -> dict:
    return json.loads(json.dumps(info, default=str))


# ---------------------------------------------------------------- executors

class Executor:
    """Runs a :class:`Graph`; subclasses decide where the tasks run."""

    progress: bool = True

    def run(self, graph: Graph, targets: Iterable[str] | None = None) -> Result:
        raise NotImplementedError

    def _log_result(self, log: EventLog, r: TaskResult) -> None:
        fields = {"task": r.id, "state": r.state, "seconds": round(r.seconds, 2)}
        if r.info.get("work"):
            fields["work"] = r.info["work"]  # counted work units: image-epochs, rows forward and back
        if r.error:
            fields["error"] = r.error
        log("task_" + r.state.replace(" ", "_"), **fields)


class LocalExecutor(Executor):
    """One task at a time, in this process, with a progress bar over the tasks.

    Parameters
    ----------
    progress : bool
        Show the bar (tqdm, on stderr).
    on_result : callable, optional
        Called with each :class:`TaskResult` as it is known (e.g. to print failures).
    """

    def __init__(self, *, progress: bool = True, on_result: Callable[[TaskResult], None] | None = None):
        self.progress = progress
        self.on_result = on_result

    def run(self, graph: Graph, targets: Iterable[str] | None = None) -> Result:
        from tqdm.auto import tqdm

        if targets is not None:
            graph = graph.subgraph(targets)
        order = graph.order()
        log = graph.log()
        log("graph_start", executor="local", tasks=len(order))
        t0 = time.perf_counter()
        results: dict[str, TaskResult] = {}
        with tqdm(total=len(order), desc="tasks", unit="task", disable=not self.progress) as bar:
            for task in order:
                bar.set_postfix_str(task.id[-60:])
                deps = [graph[d] for d in task.deps]
                pending = not any(not results[d].ok for d in task.deps) and not is_up_to_date(task, deps, graph.state_dir)
                if pending:
                    log("task_start", task=task.id)
                r = execute_task(task, deps, [results[d] for d in task.deps], graph.state_dir)
                results[task.id] = r
                self._log_result(log, r)
                if self.on_result:
                    self.on_result(r)
                bar.update(1)
        result = Result(results, time.perf_counter() - t0)
        log("graph_done", executor="local", **{s.replace(" ", "_"): result.count(s)
                                               for s in (DONE, UP_TO_DATE, FAILED, BLOCKED)})
        return result


def _remote(task: Task, deps: list[Task], state_dir: str, *dep_results: TaskResult) -> TaskResult:
    """What a dask worker runs: :func:`execute_task` with the resolved dependency results."""
    return execute_task(task, deps, list(dep_results), state_dir)


class DaskExecutor(Executor):
    """Every task submitted to a ``dask.distributed`` cluster, dependencies as futures.

    Parameters
    ----------
    address : str, optional
        A running scheduler (``tcp://host:8786``); the workers must see the same project
        folder (stamps, stores and models are files). None: start a ``LocalCluster``.
    n_workers : int
        Workers of the local cluster (one thread each: TensorFlow uses the cores itself).
    processes : bool
        Local workers as processes (True) or threads in this process (False).
    progress : bool
    on_result : callable, optional
    """

    def __init__(self, address: str | None = None, *, n_workers: int = 1, processes: bool = True,
                 progress: bool = True, on_result: Callable[[TaskResult], None] | None = None):
        self.address = address
        self.n_workers = n_workers
        self.processes = processes
        self.progress = progress
        self.on_result = on_result

    def _client(self):
        from distributed import Client, LocalCluster

        if self.address:
            return Client(self.address), None
        import dask

        # tasks start processes of their own (preparation pools, notebook kernels): the
        # workers must not be daemonic
        with dask.config.set({"distributed.worker.daemon": False}):
            cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1, processes=self.processes,
                                   dashboard_address=None)
        return Client(cluster), cluster

    def run(self, graph: Graph, targets: Iterable[str] | None = None) -> Result:
        from distributed import as_completed
        from tqdm.auto import tqdm

        if targets is not None:
            graph = graph.subgraph(targets)
        order = graph.order()
        log = graph.log()
        log("graph_start", executor="dask", tasks=len(order), address=self.address or "local cluster")
        t0 = time.perf_counter()
        client, cluster = self._client()
        results: dict[str, TaskResult] = {}
        try:
            futures = {}
            for task in order:
                deps = [graph[d] for d in task.deps]
                futures[task.id] = client.submit(_remote, task, deps, str(graph.state_dir),
                                                 *[futures[d] for d in task.deps],
                                                 key=f"{_safe(task.id)}-{time.time_ns()}", pure=False)
            ids = {f.key: tid for tid, f in futures.items()}
            with tqdm(total=len(order), desc="tasks", unit="task", disable=not self.progress) as bar:
                for fut in as_completed(list(futures.values())):
                    tid = ids[fut.key]
                    try:
                        r = fut.result()
                    except Exception as exc:  # the worker died or the result did not come back
                        r = TaskResult(tid, FAILED, error=f"{type(exc).__name__}: {exc}",
                                       traceback=traceback.format_exc())
                    results[tid] = r
                    self._log_result(log, r)
                    if self.on_result:
                        self.on_result(r)
                    bar.set_postfix_str(tid[-60:])
                    bar.update(1)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        ordered = {t.id: results[t.id] for t in order}
        result = Result(ordered, time.perf_counter() - t0)
        log("graph_done", executor="dask", **{s.replace(" ", "_"): result.count(s)
                                              for s in (DONE, UP_TO_DATE, FAILED, BLOCKED)})
        return result


def get_executor(name: str = "local", **options) -> Executor:
    """``local`` or ``dask`` (``dask:tcp://host:port`` for an existing scheduler)."""
    if name == "local":
        return LocalExecutor(**options)
    if name == "dask" or name.startswith("dask:"):
        address = name.split(":", 1)[1] if ":" in name else None
        return DaskExecutor(address, **options)
    raise ParameterError(f"executor={name!r} is not one of ['local', 'dask', 'dask:<scheduler address>']")


# ---------------------------------------------------------------- the steps

def _paths(root: str):
    from ..config import Paths

    return Paths(Path(root))


def _run(corpus: str, root: str, profile):
    from ..models.runs import open_run

    return open_run(corpus, root, profile)


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
        cfg = profile.get(f"synthetic.{kind}")
        out = paths.corpus(spec.name)
        manifest = out / "manifest.json"
        before = manifest.stat().st_mtime if manifest.is_file() else None
        fn = synth.synthesize_digits if kind == "digits" else synth.synthesize_emotions
        size = {"participants": cfg["participants"]} if kind == "digits" else {"actors": cfg["actors"]}
        kwargs = dict(size, repetitions=cfg["repetitions"], sample_rate=cfg["sample_rate"],
                      seed=profile.get("seed"), progress=False)
        try:
            fn(out, **kwargs)
        except CorpusMismatch as exc:  # made by another profile: rebuilt at this one's size
            EventLog(paths.raw)("corpus_rebuilt", corpus=spec.name, profile=profile.name, reason=str(exc)[:300])
            fn(out, force=True, **kwargs)
        after = manifest.stat().st_mtime if manifest.is_file() else None
        return {"reused": before is not None and before == after}
    from ..data import fetch as dl

    path = dl.fetch(spec.name, source=source, dest=paths.corpus(spec.name), downloads_dir=paths.downloads,
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
    run = _run(corpus, root, profile)
    write_splits(table, run.dir, labels=ok, n_folds=profile.get("splits.n_folds"), seed=profile.get("seed"))
    return {"labels": ok, "infeasible": bad}


def step_train(corpus: str, root: str, profile, label: str, fold, model: str) -> dict:
    """Train one model (reused when an up-to-date one exists)."""
    from ..models.train import train

    run = _run(corpus, root, profile)
    result = train(run, run.task(label, fold, model), profile, progress=False)
    return {"reused": result.reused, "epochs": len(result.history), "seconds": round(result.seconds, 1),
            "work": result.work or {}}


def step_evaluate(corpus: str, root: str, profile, label: str, fold, model: str) -> dict:
    """Predict the test fold; write predictions, metrics and the confusion matrix."""
    from ..models.evaluate import evaluate

    run = _run(corpus, root, profile)
    task = run.task(label, fold, model)
    scores = evaluate(run, task)
    with open(run.predictions_path(task), encoding="utf-8") as f:
        n_test = sum(1 for _ in f) - 1  # one row per test sample predicted, after the header
    return {**scores, "work": {"forward": n_test}}


def step_summarize(corpus: str, root: str, profile, label: str, model: str, folds: list) -> dict:
    """Mean and standard deviation over the folds; the mean confusion matrices."""
    from ..models.evaluate import summarize

    run = _run(corpus, root, profile)
    summary = summarize(run, label, model, list(folds))
    if label == "emotion" and model == "cnn1d" and run.evaluation_path(run.task("emotion", "random", "cnn1d")).is_file():
        from ..models import evaluate as ev

        if hasattr(ev, "compare_protocols"):
            ev.compare_protocols(run, list(folds))
    return {"accuracy": float(summary["evaluation"].loc["mean", "accuracy"])}


def book_samples(run, task, options: dict, *, seed: int = 0, model=None):
    """The samples the book explains for one model, with the part of the book each is for.

    AlexNet: the study's ``examples`` mode (``options["examples"]`` per digit and sex,
    the first ``options["examples_max"]`` of them when that is above 0), then the first
    ``wrong`` and ``correct`` predictions. Emotion models: one row per emotion and sex,
    ``options["rows"]`` of them spread over the classes. Returns the rows of
    :func:`xaispec.study.samples.test_table` with a ``section`` column
    (``examples``, ``wrong``, ``correct``); a sample in several sections is listed once,
    under the first.
    """
    import numpy as np
    import pandas as pd

    from ..study.samples import select_examples, select_predictions, test_table

    table = test_table(run, task, model=model)
    parts = []
    if task.model == "alexnet":
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
    from ..study import stage
    from ..study.options import ExplainOptions

    options = dict(options or {})
    run = _run(corpus, root, profile)
    task = run.task(label, fold, model)
    keras_model = load_model(run, task)
    samples = book_samples(run, task, options, seed=profile.get("seed"), model=keras_model)
    from ..explain import METHODS

    params = {method: dict(options.get("params") or {})}  # the profile's book.explainer_params
    if options.get("background") and "n_background" in METHODS[method].defaults:
        params[method]["n_background"] = int(options["background"])
    opts = ExplainOptions(methods=[method], params=params, seed=profile.get("seed"),
                          top_percent=float(options.get("top_percent", 20.0)), progress=False)
    result = stage.explain(run, task, samples, opts, model=keras_model,
                           selection={"way": "book", **options, "samples": len(samples)})
    failures = [f.line() for f in result.failures]
    if failures and len(failures) >= len(samples):
        raise RuntimeError(f"{method} failed on every sample of {task.name}: {failures[0]}")
    mres = result.methods[method]
    return {"samples": len(samples), "explained": mres.explained, "reused": mres.explained == 0 and not failures,
            "failures": failures[:20], "work": mres.work}
