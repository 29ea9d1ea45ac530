"""Small file helpers: atomic writes, locks, hashing, and child processes that die with
their parent.

Nothing finished is ever overwritten in place: every writer goes to a temporary
name beside the target and renames it when complete; a process that starts writers of
its own takes them with it when it is killed, so a rerun never has a second writer beside it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Callable, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On error the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, *, on_wait: Callable[[str], None] | None = None,
              on_busy: Callable[[str], None] | None = None, note: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a lock file, created if missing) for the block.

    Another process asking for the same lock waits until this one is released;
    ``on_wait(message)`` is called once when it has to. With ``on_busy`` it does not wait:
    ``on_busy(note)`` is called with what the holder wrote into the file (its ``note``) and
    is expected to raise. ``note`` is written into the lock file while this process holds it
    and emptied on release. The operating system releases the lock when its holder exits,
    however it ends. On systems without ``fcntl`` (Windows) no lock is taken.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on this platform
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_busy is not None:
                on_busy(f.read())
                raise
            if on_wait is not None:
                on_wait(f"{path}: another process holds this lock; waiting for it to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        if note is not None:
            f.truncate(0)
            f.write(note)
            f.flush()
        try:
            yield
        finally:
            if note is not None:
                f.truncate(0)
                f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)


_RENAME_EXCHANGE = 2   # linux/fs.h
_AT_FDCWD = -100


def exchange(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Swap two existing paths (files, folders or links): ``a`` gets ``b``'s entry and ``b`` gets ``a``'s.

    On Linux this is one atomic step (``renameat2`` with ``RENAME_EXCHANGE``): someone
    reading ``b`` sees either the old or the new entry, never nothing. Elsewhere, or where
    the file system refuses, it takes three renames through a temporary name.

    Returns
    -------
    bool
        Whether the swap was atomic.
    """
    a, b = os.fspath(a), os.fspath(b)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
            return True
    tmp = f"{b}.exchange-{os.getpid()}"
    os.replace(b, tmp)
    try:
        os.replace(a, b)
    except OSError:
        os.replace(tmp, b)
        raise
    os.replace(tmp, a)
    return False


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(path: str | os.PathLike, obj) -> Path:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def _file_digest(path: str | os.PathLike, algorithm: str, chunk: int) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    return _file_digest(path, "sha256", chunk)


def md5_file(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """Hex MD5 of a file's bytes (only to check published checksums)."""
    return _file_digest(path, "md5", chunk)


def as_json(obj):
    """``obj`` as it reads back from JSON (tuples become lists, other values strings)."""
    return json.loads(json.dumps(obj, default=str))


#: run before a command's own program: die with the process that started it, then become the command
_LAUNCHER = ("import os, sys; from xaispec._io import die_with_parent; "
             "die_with_parent(int(sys.argv[1])); os.execvp(sys.argv[2], sys.argv[2:])")


def die_with_parent(parent: int) -> None:
    """Have Linux kill this process when the one that started it dies (``PR_SET_PDEATHSIG``).

    For a pool's initializer: a cluster worker lost mid-task, or a parent killed alone, would
    else leave its children working through their queue and writing beside the rerun. Exits at
    once if ``parent`` (the starter's pid) is already gone. Elsewhere than Linux: nothing.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))   # PR_SET_PDEATHSIG
        if os.getppid() != parent:   # the parent died before that
            os._exit(1)


def dying_with_this_process(cmd: list[str]) -> list[str]:
    """``cmd`` started through a launcher that dies with this process (Linux; else ``cmd``).

    The launcher sets ``PR_SET_PDEATHSIG`` and then *becomes* the command (``exec``), which keeps
    it: no ``preexec_fn``, which is unsafe in a threaded process such as a Dask worker.
    """
    if not sys.platform.startswith("linux"):
        return list(cmd)
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *map(str, cmd)]
