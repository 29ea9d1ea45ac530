"""One book run at a time per project folder.

``xaispec book`` and ``xaispec chapter`` write the same pages, stamps, stores and models: two of
them at once in one folder would race. :func:`book_lock` holds an exclusive lock on
``data/runs/book/book.lock`` for the whole run and writes into it who holds it (process id,
host, command, start time); a second run refuses at once, naming that process. The operating
system releases the lock when its holder exits, however it ends (SIGKILL included), so a lock
is never left stale (:func:`xaispec._io.file_lock`). On systems without ``fcntl`` (Windows) no lock
is taken.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .._io import file_lock
from ..config import Paths
from ..errors import BusyError
from .state import state_dir

LOCK_NAME = "book.lock"


def lock_path(paths: Paths) -> Path:
    """The lock file of the book runs under ``paths``."""
    return state_dir(paths) / LOCK_NAME


def _holder(text: str) -> str:
    try:
        who = json.loads(text)
    except ValueError:
        return "a process that has just started"
    return f"pid {who['pid']} on {who['host']}, started {who['started']}: {who['command']}"


@contextmanager
def book_lock(paths: Paths) -> Iterator[None]:
    """Hold the project folder's book lock for the block.

    Raises
    ------
    BusyError
        Another process holds it (the message names that process and its command).
    """
    def busy(note: str) -> None:
        raise BusyError(f"{paths.root}: another xaispec run is working in this folder ({_holder(note)}); "
                        f"wait for it to finish or stop it")

    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python"
    note = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                       "started": time.strftime("%Y-%m-%d %H:%M:%S")})
    with file_lock(lock_path(paths), on_busy=busy, note=note):
        yield
