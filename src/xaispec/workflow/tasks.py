"""What the graph is made of: a :class:`Task` (one step with its inputs, outputs and
settings), the :class:`TaskResult` of running it, and the :class:`Result` of a whole run.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

#: states of a finished task
DONE, UP_TO_DATE, FAILED, BLOCKED = "done", "up to date", "failed", "blocked"


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
    resources : dict
        What the task needs of a Dask worker, e.g. ``{"train": 1}``: workers started one per
        machine with ``--resources train=1`` then run one training at a time per machine.
    """

    id: str
    fn: Callable[..., Any]
    kwargs: dict = field(default_factory=dict)
    deps: tuple = ()
    outputs: tuple = ()
    config: Any = None
    always: bool = False
    resources: dict = field(default_factory=dict)

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
