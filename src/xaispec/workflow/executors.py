"""Executors run a :class:`~.graph.Graph`: :class:`LocalExecutor` in this process,
:class:`DaskExecutor` on a ``dask.distributed`` cluster; both return the same :class:`~.tasks.Result`.
"""
from __future__ import annotations

import time
import traceback
import warnings
from typing import Callable, Iterable

from ..errors import ParameterError
from ..events import EventLog
from .graph import Graph
from .stamps import execute_task, is_up_to_date, safe_id
from .tasks import BLOCKED, DONE, FAILED, UP_TO_DATE, Result, Task, TaskResult


class Executor:
    """Runs a :class:`Graph`; subclasses decide where the tasks run."""

    progress: bool = True

    def run(self, graph: Graph, targets: Iterable[str] | None = None) -> Result:
        raise NotImplementedError

    def _log_result(self, log: EventLog, r: TaskResult) -> None:
        fields = {"task": r.id, "state": r.state, "seconds": round(r.seconds, 2)}
        if r.info.get("work"):
            fields["work"] = r.info["work"]  # counted work units: image-epochs, rows forward and back
        if r.info.get("worker"):
            fields["worker"] = r.info["worker"]  # where a cluster ran it
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
    """What a dask worker runs: :func:`execute_task` with the resolved dependency results; the
    result says which worker ran it, and from when to when (seconds since the epoch)."""
    from distributed import get_worker

    started = time.time()
    r = execute_task(task, deps, list(dep_results), state_dir)
    r.info = {**r.info, "worker": get_worker().address, "started": started, "ended": time.time()}
    return r


class DaskExecutor(Executor):
    """Every task submitted to a ``dask.distributed`` cluster, dependencies as futures.

    A task's ``resources`` (a training's ``{"train": 1}``) are asked of the workers when one
    of them declares them (``dask worker ... --resources train=1``, one such worker per
    machine): two trainings then never share a machine's cores. When none does, such tasks run
    on any worker, with one warning (and a ``resources_missing`` event), rather than wait forever.
    The local cluster's workers declare one ``train`` slot each.

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
                                   dashboard_address=None, resources={"train": 1})
        return Client(cluster), cluster

    def run(self, graph: Graph, targets: Iterable[str] | None = None) -> Result:
        from distributed import as_completed
        from tqdm.auto import tqdm

        if targets is not None:
            graph = graph.subgraph(targets)
        order = graph.order()
        log = graph.log()
        log("graph_start", executor="dask", tasks=len(order), address=self.address or "local cluster")
        t0, started = time.perf_counter(), time.time()
        client, cluster = self._client()
        results: dict[str, TaskResult] = {}
        try:
            declared = _declared_resources(client, log, {r for t in order for r in t.resources})
            futures = {}
            for task in order:
                deps = [graph[d] for d in task.deps]
                wanted = {k: v for k, v in task.resources.items() if k in declared} or None
                futures[task.id] = client.submit(_remote, task, deps, str(graph.state_dir),
                                                 *[futures[d] for d in task.deps], resources=wanted,
                                                 key=f"{safe_id(task.id)}-{time.time_ns()}", pure=False)
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
            _log_lost_workers(client, log, ids, since=started)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        ordered = {t.id: results[t.id] for t in order}
        result = Result(ordered, time.perf_counter() - t0)
        log("graph_done", executor="dask", **{s.replace(" ", "_"): result.count(s)
                                              for s in (DONE, UP_TO_DATE, FAILED, BLOCKED)})
        return result


def _log_lost_workers(client, log, ids: dict, since: float) -> None:
    """Log every worker the scheduler lost while the graph ran (``worker_lost``: its address,
    when, and the tasks it was running, which the scheduler gave to other workers)."""
    for at, event in client.get_events("all"):
        if at < since or not isinstance(event, dict) or event.get("action") != "remove-worker":
            continue
        if event.get("expected"):
            continue   # a worker closed on purpose (scaled down), not lost
        log("worker_lost", worker=event.get("worker"), at=round(at, 3),
            tasks=sorted(ids.get(k, str(k)) for k in event.get("processing-tasks", ())))


def _declared_resources(client, log, wanted: set) -> set:
    """The resources the cluster's workers declare; warn once about ``wanted`` ones none declares."""
    try:   # a scheduler just started may not know its workers yet
        client.wait_for_workers(1, timeout=60)
    except TimeoutError:
        pass   # none yet: the tasks wait for one
    workers = client.scheduler_info()["workers"].values()
    declared = {name for w in workers for name in (w.get("resources") or {})}
    missing = sorted(wanted - declared)
    if missing:
        log("resources_missing", resources=missing, workers=len(workers))
        warnings.warn(f"no worker of the cluster declares the resource(s) {missing}: the tasks that ask for them "
                      f"run on any worker (start one worker per machine with --resources {missing[0]}=1)",
                      RuntimeWarning, stacklevel=3)
    return declared


def get_executor(name: str = "local", **options) -> Executor:
    """``local`` or ``dask`` (``dask:tcp://host:port`` for an existing scheduler)."""
    if name == "local":
        return LocalExecutor(**options)
    if name == "dask" or name.startswith("dask:"):
        address = name.split(":", 1)[1] if ":" in name else None
        return DaskExecutor(address, **options)
    raise ParameterError(f"executor={name!r} is not one of ['local', 'dask', 'dask:<scheduler address>']")
