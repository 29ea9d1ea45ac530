"""A generic task graph and the executors that run it.

It knows nothing of corpora or models: a :class:`Task` is a function with its
arguments, dependencies, outputs and settings. The project's own steps are in
:mod:`xaispec.study.steps`; the book plans its graph in :mod:`xaispec.book`.
"""
from .executors import DaskExecutor, Executor, LocalExecutor, get_executor
from .graph import Graph
from .stamps import execute_task, is_up_to_date, read_stamp, stamp_path, write_stamp
from .tasks import BLOCKED, DONE, FAILED, UP_TO_DATE, Result, Task, TaskResult

__all__ = ["BLOCKED", "DONE", "FAILED", "UP_TO_DATE", "DaskExecutor", "Executor", "Graph", "LocalExecutor",
           "Result", "Task", "TaskResult", "execute_task", "get_executor", "is_up_to_date", "read_stamp",
           "stamp_path", "write_stamp"]
