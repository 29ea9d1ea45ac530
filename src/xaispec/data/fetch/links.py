"""A local corpus folder used in place: ``dest`` becomes a symlink to the corpus root in it.

Nothing is copied. The link is made atomically and recorded in a sidecar file
(:func:`~xaispec.data.fetch.dest.link_sidecar`), so a later run can tell it from
a link the user made.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..._io import exchange, write_json_atomic
from ...errors import DataError
from ._common import Log, now
from .dest import is_complete, link_is_ours, link_sidecar, set_aside_incomplete
from .sources import CorpusSource, locate_root

__all__ = ["link_folder"]


def _symlink_atomic(dest: Path, target: Path) -> None:
    """Make ``dest`` a symlink to ``target`` in one step (a link beside it, then a rename)."""
    tmp = dest.with_name(f".{dest.name}.link-{os.getpid()}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp, target_is_directory=True)
    os.replace(tmp, dest)


def link_folder(folder: Path, src: CorpusSource, dest: Path, force: bool, log: Log) -> Path:
    """Make ``dest`` a symlink to the corpus root found in ``folder``, and return ``dest``.

    A link already pointing there, or ``dest`` being that root itself, is kept. A link
    to elsewhere is replaced only if xaispec made it or ``force`` is true. A complete
    extracted copy is kept unless ``force`` is true (then the link replaces it in one
    step); an unfinished folder is moved aside.

    Raises
    ------
    DataError
        No corpus root in ``folder``, ``dest`` is a foreign symlink (without ``force``),
        or ``dest`` is a file.
    """
    root = locate_root(folder, src.name).resolve()
    if dest.is_symlink():
        current = os.readlink(dest)
        if dest.resolve() == root:
            log("corpus-link-reused", corpus=src.name, dest=str(dest), target=str(root))
            return dest
        if not (force or link_is_ours(dest)):
            raise DataError(
                f"{dest}: is a symlink to {current} not created by xaispec; "
                f"pass force=True to point it at {root}"
            )
        log("corpus-link-replaced", corpus=src.name, dest=str(dest), old_target=current)
    elif dest.is_dir():
        if dest.resolve() == root:
            log("corpus-in-place", corpus=src.name, dest=str(dest))
            return dest
        if is_complete(dest):
            if not force:
                log("corpus-reused", corpus=src.name, dest=str(dest), note="complete copy kept; force=True links the folder instead")
                return dest
            link = dest.with_name(f".{dest.name}.link-{os.getpid()}")
            os.symlink(root, link, target_is_directory=True)
            exchange(link, dest)   # the link in, in one step; the old copy now at `link`
            shutil.rmtree(link, ignore_errors=True)
            log("corpus-copy-replaced-by-link", corpus=src.name, dest=str(dest))
        else:
            set_aside_incomplete(dest, log, "folder without the completion marker (unfinished extraction?)")
    elif os.path.lexists(dest):
        raise DataError(f"{dest}: exists and is not a folder; remove it or choose another dest")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.is_symlink() or dest.resolve() != root:
        _symlink_atomic(dest, root)
    write_json_atomic(link_sidecar(dest), {"corpus": src.name, "target": str(root), "source": str(folder), "time": now()})
    log("corpus-linked", corpus=src.name, dest=str(dest), target=str(root), source=str(folder))
    return dest

