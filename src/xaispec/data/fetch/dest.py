"""What is at a corpus destination folder: complete copies, xaispec's links, unfinished folders.

A completely extracted corpus root carries :data:`COMPLETE_MARKER`; a symlink made
by xaispec has a sidecar file beside it recording its target; a folder without the
marker is moved aside, never deleted.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ._common import Log, warn

__all__ = ["COMPLETE_MARKER", "is_complete", "link_is_ours", "link_sidecar", "set_aside_incomplete"]

#: Name of the file written into a completely extracted corpus root.
COMPLETE_MARKER = ".xaispec-complete.json"


def link_sidecar(dest: Path) -> Path:
    """The file beside ``dest`` that records the target of a symlink xaispec made there."""
    return dest.with_name(f".{dest.name}.xaispec-link.json")


def link_is_ours(dest: Path) -> bool:
    """Whether ``dest`` is a symlink made by xaispec (its sidecar records its current target)."""
    sidecar = link_sidecar(dest)
    if not (dest.is_symlink() and sidecar.is_file()):
        return False
    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8")).get("target")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded == os.readlink(dest)


def is_complete(dest: Path) -> bool:
    """Whether ``dest`` holds a readable :data:`COMPLETE_MARKER`."""
    marker = dest / COMPLETE_MARKER
    if not marker.is_file():
        return False
    try:
        return isinstance(json.loads(marker.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


def _free_name(path: Path, tag: str) -> Path:
    """``<path>.<tag>-<n>`` with the smallest n >= 1 that does not exist."""
    n = 1
    while True:
        candidate = path.with_name(f"{path.name}.{tag}-{n}")
        if not os.path.lexists(candidate):
            return candidate
        n += 1


def set_aside_incomplete(dest: Path, log: Log, reason: str) -> None:
    """Report an unfinished ``dest`` folder and move it out of the way (never delete it).

    An empty folder is removed; any other is renamed to ``<dest>.incomplete-<n>``.
    """
    if not any(dest.iterdir()):
        dest.rmdir()
        log("dest-empty-removed", dest=str(dest))
        return
    aside = _free_name(dest, "incomplete")
    os.replace(dest, aside)
    log("dest-incomplete", dest=str(dest), moved_to=str(aside), reason=reason)
    warn(f"{dest}: {reason}; moved it aside to {aside}")
