"""Stamp files: a finished task's hash, time and counted work, and the rule that says a task is up to date."""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
import traceback
from pathlib import Path

from .._io import as_json, write_json_atomic
from .tasks import BLOCKED, DONE, FAILED, UP_TO_DATE, Task, TaskResult


def safe_id(task_id: str) -> str:
    """A file-name-safe, unique form of a task id."""
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", task_id)[:180] + "-" + hashlib.sha1(task_id.encode()).hexdigest()[:8]


def stamp_path(state_dir: str | os.PathLike, task_id: str) -> Path:
    return Path(state_dir) / "stamps" / f"{safe_id(task_id)}.json"


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
                       "work": as_json(info.get("work") or {})})


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
    return TaskResult(task.id, DONE, seconds, info=as_json(info))

