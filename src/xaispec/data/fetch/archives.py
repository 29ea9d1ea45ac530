"""Extracting zip and tar archives safely.

:func:`safe_extract` checks every entry just before it is written: absolute names,
``..``, links pointing outside the target folder, devices and fifos are refused, so
nothing is ever written outside the target.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

from tqdm import tqdm

from ...errors import DataError
from ._common import CHUNK

__all__ = ["ARCHIVE_SUFFIXES", "archive_kind", "safe_extract"]

#: The archive file name endings understood (zip first, then the tar family).
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def archive_kind(name: str) -> str | None:
    """``"zip"``, ``"tar"`` or None from a file name's suffix."""
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if any(lower.endswith(s) for s in ARCHIVE_SUFFIXES[1:]):
        return "tar"
    return None


def _within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (both resolved)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _check_name(archive: Path, name: str) -> None:
    """Refuse entry names that are absolute or climb out with ``..``."""
    if "\x00" in name:
        raise DataError(f"{archive.name}: entry {name!r} has a NUL character in its name; refusing to extract")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise DataError(f"{archive.name}: entry {name!r} has an absolute path; refusing to extract")
    if ".." in re.split(r"[\\/]", name):
        raise DataError(f"{archive.name}: entry {name!r} points outside the target folder (..); refusing to extract")


def _resolved_inside(archive: Path, name: str, candidate: str, root: str, what: str = "") -> str:
    resolved = os.path.realpath(candidate)
    if not _within(resolved, root):
        raise DataError(
            f"{archive.name}: entry {name!r} {what or 'resolves'} outside the target folder "
            f"({resolved}); refusing to extract"
        )
    return resolved


def _extract_zip(archive: Path, target: str, progress: bool) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in tqdm(infos, desc=f"extract {archive.name}", unit="file", disable=not progress, leave=False):
            name = info.filename
            _check_name(archive, name)
            dest = _resolved_inside(archive, name, os.path.join(target, name), target)
            mode = info.external_attr >> 16
            if info.is_dir():
                os.makedirs(dest, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if stat.S_ISLNK(mode):
                link = zf.read(info).decode("utf-8", "surrogateescape")
                if os.path.isabs(link):
                    raise DataError(f"{archive.name}: entry {name!r} is a symlink to an absolute path ({link}); refusing to extract")
                _resolved_inside(archive, name, os.path.join(os.path.dirname(dest), link), target,
                                 f"is a symlink ({link}) pointing")
                if os.path.lexists(dest):
                    os.unlink(dest)
                os.symlink(link, dest)
                continue
            with zf.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)


def _extract_tar(archive: Path, target: str, progress: bool) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for member in tqdm(members, desc=f"extract {archive.name}", unit="file", disable=not progress, leave=False):
            name = member.name
            _check_name(archive, name)
            _resolved_inside(archive, name, os.path.join(target, name), target)
            if member.ischr() or member.isblk() or member.isfifo() or not (
                member.isfile() or member.isdir() or member.issym() or member.islnk()
            ):
                raise DataError(f"{archive.name}: entry {name!r} is a device, fifo or unknown entry type; refusing to extract")
            if member.issym():
                link = member.linkname
                if os.path.isabs(link):
                    raise DataError(f"{archive.name}: entry {name!r} is a symlink to an absolute path ({link}); refusing to extract")
                _resolved_inside(archive, name, os.path.join(os.path.dirname(os.path.join(target, name)), link),
                                 target, f"is a symlink ({link}) pointing")
            elif member.islnk():
                link = member.linkname
                _resolved_inside(archive, name, os.path.join(target, link), target,
                                 f"is a hard link ({link}) pointing")
            if hasattr(tarfile, "data_filter"):
                try:
                    tf.extract(member, target, filter="data")
                except tarfile.FilterError as e:
                    raise DataError(f"{archive.name}: entry {name!r} refused ({e}); refusing to extract") from None
            else:  # pragma: no cover - Python without extraction filters
                tf.extract(member, target)


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike, *, progress: bool = True) -> Path:
    """Extract a zip or tar archive into ``target``, checking every entry.

    An entry is refused (``DataError`` naming it) when its name is absolute or
    contains ``..``, when its path resolves outside ``target`` (also through links
    extracted before it), when it is a symlink or hard link pointing outside
    ``target``, or when it is a device or fifo. Entries are checked one by one
    just before they are written, so nothing is ever written outside ``target``;
    entries before a refused one may already be in ``target``.

    Returns
    -------
    Path
        ``target`` (created if needed).
    """
    archive = Path(archive).expanduser()
    target = Path(target).expanduser()
    if not archive.is_file():
        raise DataError(f"{archive}: no such archive file")
    kind = archive_kind(archive.name)
    if kind is None:
        if zipfile.is_zipfile(archive):
            kind = "zip"
        elif tarfile.is_tarfile(archive):
            kind = "tar"
        else:
            raise DataError(f"{archive}: not a zip or tar archive (supported: {', '.join(ARCHIVE_SUFFIXES)})")
    target.mkdir(parents=True, exist_ok=True)
    root = os.path.realpath(target)
    try:
        if kind == "zip":
            _extract_zip(archive, root, progress)
        else:
            _extract_tar(archive, root, progress)
    except DataError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError, RuntimeError) as e:
        raise DataError(f"{archive}: cannot extract ({type(e).__name__}: {e})") from None
    except Exception as e:  # zlib.error, lzma.LZMAError, ... from corrupt streams
        raise DataError(f"{archive}: cannot extract ({type(e).__name__}: {e})") from None
    return target
