"""What produced a result: package versions, git commit, platform.

Recorded with every store, model and figure set. Never imports TensorFlow: versions
are read from the installed distributions' metadata.
"""
from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = (
    "xaispec", "numpy", "scipy", "librosa", "soundfile", "soxr", "h5py", "pandas",
    "scikit-learn", "tensorflow", "keras", "lime", "shap", "matplotlib", "espeakng-loader",
)


def versions(packages=PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (``"not installed"`` where absent)."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(root: str | Path | None = None) -> str:
    """The checkout's HEAD commit, with ``+dirty`` when tracked files are modified.

    ``"unknown"`` outside a git checkout.
    """
    from .config import project_root

    root = Path(root) if root else project_root()
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def record(root: str | Path | None = None) -> dict:
    """Versions, git commit and platform in one dictionary."""
    return {
        "versions": versions(),
        "git_commit": git_commit(root),
        "platform": {"machine": platform.machine(), "system": platform.system(),
                     "processor": platform.processor()},
    }
