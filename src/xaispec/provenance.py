"""What produced a result: package versions, git commit, platform.

Recorded with every store, model and figure set. Never imports TensorFlow: versions
are read from the installed distributions' metadata.
"""
from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable

PACKAGES = (
    "xaispec", "numpy", "scipy", "librosa", "soundfile", "soxr", "h5py", "pandas",
    "scikit-learn", "tensorflow", "keras", "lime", "shap", "matplotlib", "espeakng-loader",
)


def versions(packages=PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (``"not installed"`` where absent)."""
    return dict(_versions(tuple(packages)))


@lru_cache(maxsize=8)
def _versions(packages: tuple) -> tuple:
    # read once per process: parsing the distributions' metadata costs about 1.5 ms a package
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return tuple(out.items())


def git_commit(root: str | Path | None = None) -> str:
    """The checkout's HEAD commit, with ``+dirty`` when tracked files are modified.

    ``"unknown"`` outside a git checkout.
    """
    return start_git_commit(root)()


def start_git_commit(root: str | Path | None = None) -> Callable[[], str]:
    """Start asking git for :func:`git_commit`'s answer; the returned function waits for it.

    Lets a caller do other work while git runs (it takes a few milliseconds).
    """
    from .config import project_root

    root = Path(root) if root else project_root()
    try:
        procs = [subprocess.Popen(["git", "-C", str(root), *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
                 for args in (["rev-parse", "HEAD"], ["status", "--porcelain", "--untracked-files=no"])]
    except OSError:
        return lambda: "unknown"

    def result() -> str:
        try:
            (head, _), (dirty, _) = (p.communicate(timeout=10) for p in procs)
        except subprocess.SubprocessError:
            for p in procs:
                p.kill()
            return "unknown"
        if procs[0].returncode != 0 or not head.strip():
            return "unknown"
        return head.strip() + ("+dirty" if dirty.strip() else "")

    return result


def record(root: str | Path | None = None, *, commit: str | None = None) -> dict:
    """Versions, git commit (``commit`` when already known) and platform in one dictionary."""
    return {
        "versions": versions(),
        "git_commit": commit if commit is not None else git_commit(root),
        "platform": {"machine": platform.machine(), "system": platform.system(),
                     "processor": platform.processor()},
    }


def uncommitted_note(commit: str) -> str:
    """``" (with uncommitted changes)"`` for a :func:`git_commit` ending in ``+dirty``, else ``""``."""
    return " (with uncommitted changes)" if str(commit).endswith("+dirty") else ""
