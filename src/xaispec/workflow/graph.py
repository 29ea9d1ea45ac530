"""The work as a graph of tasks; :mod:`.executors` run it, :mod:`.stamps` decide what is up to date.

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

import os
from pathlib import Path
from typing import Iterable

from ..errors import ParameterError
from ..events import EventLog
from .stamps import is_up_to_date
from .tasks import Task


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
