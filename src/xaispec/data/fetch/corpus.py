"""Bringing one corpus to its destination folder: :func:`fetch`.

The source is the corpus's known URL, another URL, a local archive or a local
folder. Archives are downloaded (:mod:`~xaispec.data.fetch.http`), checked,
extracted safely (:mod:`~xaispec.data.fetch.archives`) into a partial folder and
swapped in only when complete; folders are linked (:mod:`~xaispec.data.fetch.links`).
One process at a time works on a destination.
"""
from __future__ import annotations

import os
import shutil
import urllib.parse
import urllib.request
from glob import escape as glob_escape
from pathlib import Path

from ..._io import exchange, file_lock, md5_file, sha256_file, write_json_atomic
from ...errors import DataError, ParameterError
from ._common import Log, nolog, now, warn
from .archives import ARCHIVE_SUFFIXES, archive_kind, safe_extract
from .dest import COMPLETE_MARKER, is_complete, link_is_ours, link_sidecar, set_aside_incomplete
from .http import download, reject
from .links import link_folder
from .sources import MAX_DEPTH, CorpusSource, get_source, has_marker, locate_root

__all__ = ["fetch"]

_URL_SCHEMES = ("http://", "https://", "file://")


def _count_files(root: Path) -> int:
    """Number of files below ``root``."""
    return sum(len(files) for _, _, files in os.walk(root))


def _classify(source, src: CorpusSource) -> tuple[str, object]:
    """("url", str) / ("archive", Path) / ("folder", Path)."""
    if source is None:
        return "url", src.url
    if isinstance(source, str) and "://" in source:
        if not source.lower().startswith(_URL_SCHEMES):
            raise DataError(f"{source}: unsupported URL scheme (use http://, https:// or file://)")
        if source.lower().startswith("file://"):
            local = Path(urllib.request.url2pathname(urllib.parse.urlparse(source).path))
            if local.is_dir():
                return "folder", local
        return "url", source
    try:
        path = Path(source).expanduser()
    except TypeError:
        raise ParameterError(f"source {source!r}: expected None, a URL or a path") from None
    if path.is_dir():
        return "folder", path
    if not path.exists():
        raise DataError(f"{path}: no such file or folder (source of corpus {src.name})")
    if not path.is_file() or archive_kind(path.name) is None:
        raise DataError(f"{path}: unsupported source file type (expected a folder or an archive: {', '.join(ARCHIVE_SUFFIXES)})")
    return "archive", path


def _url_filename(url: str, src: CorpusSource) -> str:
    """The archive name a URL's download is stored under: its last path part, or the known name."""
    base = os.path.basename(urllib.parse.unquote(urllib.parse.urlparse(url).path))
    return base if base and archive_kind(base) else src.filename


def _verify_local(archive: Path, src: CorpusSource, owned: bool, log: Log) -> str | None:
    """Lenient check of an archive that is not the known download; returns md5 if computed."""
    if src.size is None and not src.md5:
        return None
    actual_size = archive.stat().st_size
    if src.size is not None and actual_size != src.size:
        log("archive-unverified", archive=str(archive), size=actual_size, known_size=src.size,
            reason="size differs from the published archive (repacked?); md5 not checked")
        warn(f"{archive.name}: {actual_size} bytes, not the published {src.size}; "
              f"treating it as a repacked archive and not checking its md5")
        return None
    if not src.md5:
        return None
    actual = md5_file(archive)
    if actual.lower() != src.md5.lower():
        problem = f"md5 is {actual}, expected {src.md5.lower()}"
        log("archive-bad", archive=str(archive), problem=problem)
        if owned:
            raise reject(archive, archive.name, problem, "corrupt download")
        raise DataError(f"{archive.name}: {problem} (same size as the published archive but different bytes: corrupt?)")
    log("archive-verified", archive=str(archive), md5=actual)
    return actual


def fetch(
    corpus: str,
    *,
    source: str | os.PathLike | None = None,
    dest: str | os.PathLike,
    downloads_dir: str | os.PathLike,
    force: bool = False,
    progress: bool = True,
    log: Log | None = None,
) -> Path:
    """Bring ``corpus`` onto disk at ``dest`` and return its root (``dest``).

    Parameters
    ----------
    corpus : str
        A key of :data:`SOURCES`.
    source : None, URL or path
        None: the known URL. A ``http://``, ``https://`` or ``file://`` URL: that
        archive. A local archive (``.zip``, ``.tar``, ``.tar.gz``, ``.tgz``,
        ``.tar.bz2``, ``.tar.xz``). A local folder: ``dest`` becomes a symlink to
        the corpus root inside it (nothing is copied).
    dest : path
        Where the corpus root ends up.
    downloads_dir : path
        Where downloaded archives (and their ``.part`` files) are kept.
    force : bool
        Re-extract (or re-link) even when ``dest`` is complete; the new copy
        replaces the old one only once it is complete.
    progress : bool
        Show tqdm progress bars.
    log : callable, optional
        ``log(event, **fields)``, e.g. an :class:`xaispec.events.EventLog`.

    Raises
    ------
    ParameterError
        Unknown corpus.
    DataError
        Missing or unsupported source, network error, failed verification,
        unsafe archive entry, or no corpus root found.
    """
    src = get_source(corpus)
    log = log or nolog
    dest = Path(dest).expanduser().absolute()
    downloads_dir = Path(downloads_dir).expanduser()
    kind, value = _classify(source, src)
    # one process at a time per corpus folder: a second one waits, then finds it complete
    with file_lock(dest.parent / f".{dest.name}.lock", on_wait=warn):
        return _fetch(corpus, src, kind, value, source, dest, downloads_dir, force, progress, log)


def _fetch(corpus: str, src: CorpusSource, kind: str, value, source, dest: Path, downloads_dir: Path,
           force: bool, progress: bool, log: Log) -> Path:
    """:func:`fetch` under the destination's lock: reuse, or get, extract and swap in."""
    if kind == "folder":
        return link_folder(Path(value), src, dest, force, log)

    # ---- what is at dest now?
    if dest.is_symlink():
        if source is None and not force and has_marker(dest, src):
            log("corpus-link-reused", corpus=corpus, dest=str(dest), target=os.readlink(dest))
            return dest
        if not (force or link_is_ours(dest)):
            raise DataError(
                f"{dest}: is a symlink to {os.readlink(dest)} not created by xaispec; "
                f"pass force=True to replace it with an extracted copy"
            )
    elif dest.is_dir():
        if is_complete(dest):
            if not force:
                log("corpus-reused", corpus=corpus, dest=str(dest))
                return dest
        elif any(dest.iterdir()):
            log("dest-incomplete-found", corpus=corpus, dest=str(dest),
                note="no completion marker; it will be moved aside once a fresh copy is extracted")
    elif os.path.lexists(dest):
        raise DataError(f"{dest}: exists and is not a folder; remove it or choose another dest")

    # ---- get the archive
    archive_md5: str | None = None
    if kind == "url":
        url = str(value)
        known = url == src.url
        name = src.filename if known else _url_filename(url, src)
        archive = download(
            url, downloads_dir / name,
            size=src.size if known else None, md5=src.md5 if known else None,
            progress=progress, log=log,
        )
        if known:
            archive_md5 = src.md5
        else:
            archive_md5 = _verify_local(archive, src, True, log)
        origin = url
    else:
        archive = Path(value)
        archive_md5 = _verify_local(archive, src, False, log)
        origin = str(archive)

    # ---- extract into the partial folder
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.parent / f".{dest.name}.partial"
    if os.path.lexists(partial):
        log("partial-removed", partial=str(partial), reason="left over from an interrupted extraction")
        warn(f"{partial}: left over from an interrupted extraction; removing it and extracting again")
        if partial.is_symlink() or not partial.is_dir():
            partial.unlink()
        else:
            shutil.rmtree(partial)
    log("extract-start", corpus=corpus, archive=str(archive), partial=str(partial))
    try:
        safe_extract(archive, partial, progress=progress)
        try:
            root = locate_root(partial, corpus)
        except DataError:
            raise DataError(
                f"{archive.name}: no {corpus} corpus root found in the archive "
                f"(expected {src.describe_marker()} within {MAX_DEPTH} levels)"
            ) from None
        n_files = _count_files(root)
        info = {
            "corpus": corpus,
            "source": origin,
            "archive": str(archive),
            "archive_sha256": sha256_file(archive),
            "files": n_files,
            "time": now(),
        }
        if archive_md5:
            info["archive_md5"] = archive_md5
        write_json_atomic(root / COMPLETE_MARKER, info)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise

    # ---- swap it in
    if dest.is_symlink():
        log("corpus-link-replaced", corpus=corpus, dest=str(dest), old_target=os.readlink(dest))
        exchange(root, dest)   # the copy in, in one step; the old link now at `root`
        os.unlink(root)
        link_sidecar(dest).unlink(missing_ok=True)
    elif dest.is_dir() and is_complete(dest):  # force=True
        exchange(root, dest)   # the new copy in, in one step; the old one now inside `partial`
    else:
        if dest.is_dir():
            set_aside_incomplete(dest, log, "folder without the completion marker (unfinished extraction?); extracting again")
        os.replace(root, dest)
    for stale in dest.parent.glob(f".{glob_escape(dest.name)}.replaced-*"):
        if stale.is_dir() and not stale.is_symlink() and (stale / COMPLETE_MARKER).is_file():
            shutil.rmtree(stale, ignore_errors=True)  # an old copy left by an earlier version's swap
    if os.path.lexists(partial):
        shutil.rmtree(partial, ignore_errors=True)
    log("corpus-extracted", corpus=corpus, dest=str(dest), archive=str(archive), files=n_files, source=origin)
    return dest
