"""Getting real corpora onto disk: download, verify, extract safely, link.

The one entry point most code needs is :func:`fetch`::

    root = fetch("ravdess", dest="corpora/ravdess", downloads_dir="downloads")

It brings the corpus to ``dest`` from the known URL (or from ``source``: another
URL, a local archive, or a local folder) and returns the corpus root.

Guarantees
----------
* Downloads go to ``<downloads_dir>/<filename>.part`` and are resumed with an HTTP
  ``Range`` request; a file is renamed to its final name only once it is complete
  and, when a size or MD5 is published, verified. A file that fails verification is
  renamed to ``<filename>.bad`` and never used.
* Archives are extracted into ``<dest.parent>/.<dest.name>.partial/`` with every
  entry checked (absolute paths, ``..``, links pointing outside are refused); the
  corpus root is moved to ``dest`` with a rename only when extraction is complete,
  and carries ``.xaispec-complete.json``.
* Half-finished states are detected and completed, never silently used: a leftover
  ``.partial`` folder is removed and extraction redone; a ``dest`` folder without
  the completion marker is reported and moved aside to ``<dest>.incomplete-<n>``.
* A local folder is never copied: ``dest`` becomes a symlink to its corpus root.
"""
from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import shutil
import stat
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from glob import escape as glob_escape
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from ..._io import exchange, file_lock, md5_file, sha256_file, write_json_atomic
from ...errors import DataError, ParameterError

__all__ = [
    "COMPLETE_MARKER",
    "CorpusSource",
    "SOURCES",
    "download",
    "fetch",
    "locate_root",
    "safe_extract",
]

#: Name of the file written into a completely extracted corpus root.
COMPLETE_MARKER = ".xaispec-complete.json"

#: Seconds to wait for the server to answer or to send the next block.
TIMEOUT = 60.0

#: How deep :func:`locate_root` looks below the folder it is given.
MAX_DEPTH = 3

_CHUNK = 1 << 16
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
_URL_SCHEMES = ("http://", "https://", "file://")
_SKIP_DIRS = {"__MACOSX"}

Log = Callable[..., None]


@dataclasses.dataclass(frozen=True)
class CorpusSource:
    """Where a corpus comes from and how its root is recognised.

    Parameters
    ----------
    name : str
        The corpus key in :data:`SOURCES`.
    url : str
        The download URL of its archive.
    filename : str
        The name the archive is stored under in the downloads folder.
    size, md5 : int or str, optional
        The published archive size in bytes and MD5 hex digest, when known.
    marker : str
        A glob pattern, relative to the corpus root, that matches at least one
        existing path in a genuine root (e.g. ``"recordings/*_*_*.wav"``). Empty:
        the folder given is the root.
    """

    name: str
    url: str
    filename: str
    size: int | None = None
    md5: str | None = None
    marker: str = ""
    marker_help: str = ""

    def describe_marker(self) -> str:
        """Human-readable description of what a corpus root contains."""
        return self.marker_help or (f"a folder containing {self.marker}" if self.marker else "any folder")


SOURCES: dict[str, CorpusSource] = {
    "audiomnist": CorpusSource(
        name="audiomnist",
        url="https://github.com/soerenab/AudioMNIST/archive/refs/heads/master.zip",
        filename="AudioMNIST-master.zip",
        marker="data/audioMNIST_meta.txt",
        marker_help="a folder containing data/audioMNIST_meta.txt",
    ),
    "ravdess": CorpusSource(
        name="ravdess",
        url="https://zenodo.org/record/1188976/files/Audio_Speech_Actors_01-24.zip?download=1",
        filename="Audio_Speech_Actors_01-24.zip",
        size=208468073,
        md5="bc696df654c87fed845eb13823edef8a",
        marker="Actor_[0-9][0-9]/*.wav",
        marker_help="a folder containing Actor_01 .. Actor_24 folders of .wav files",
    ),
    "fsdd": CorpusSource(
        name="fsdd",
        url="https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/heads/master.zip",
        filename="free-spoken-digit-dataset-master.zip",
        marker="recordings/*_*_*.wav",
        marker_help="a folder containing recordings/<digit>_<speaker>_<index>.wav files",
    ),
}


# --------------------------------------------------------------------------- helpers


def _nolog(event: str, **fields) -> None:
    return None


def _warn(message: str) -> None:
    """One warning line on stderr (in addition to the log event)."""
    print(f"xaispec: warning: {message}", file=sys.stderr, flush=True)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _source(corpus: str) -> CorpusSource:
    try:
        return SOURCES[corpus]
    except (KeyError, TypeError):
        raise ParameterError(
            f"corpus {corpus!r}: unknown corpus; valid ones are {', '.join(sorted(SOURCES))}"
        ) from None


def _archive_kind(name: str) -> str | None:
    """``"zip"``, ``"tar"`` or None from a file name's suffix."""
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if any(lower.endswith(s) for s in _ARCHIVE_SUFFIXES[1:]):
        return "tar"
    return None


def _has_marker(folder: Path, src: CorpusSource) -> bool:
    if not src.marker:
        return folder.is_dir()
    try:
        return any(True for _ in folder.glob(src.marker))
    except OSError:
        return False


def _free_name(path: Path, tag: str) -> Path:
    """``<path>.<tag>-<n>`` with the smallest n >= 1 that does not exist."""
    n = 1
    while True:
        candidate = path.with_name(f"{path.name}.{tag}-{n}")
        if not os.path.lexists(candidate):
            return candidate
        n += 1


def _count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


# --------------------------------------------------------------------------- locate_root


def locate_root(folder: str | os.PathLike, corpus: str) -> Path:
    """Find the corpus root inside ``folder`` by the corpus marker.

    Looks at ``folder`` itself and at most :data:`MAX_DEPTH` levels below it
    (breadth first, names sorted, hidden folders and ``__MACOSX`` skipped), and
    returns the shallowest folder that contains the marker.

    Raises
    ------
    ParameterError
        ``corpus`` is not a key of :data:`SOURCES`.
    DataError
        ``folder`` is not a folder, or no corpus root is found in it.
    """
    src = _source(corpus)
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (expected {src.describe_marker()})")
    level = [folder]
    for depth in range(MAX_DEPTH + 1):
        following: list[Path] = []
        for candidate in level:
            if _has_marker(candidate, src):
                return candidate
            if depth < MAX_DEPTH:
                try:
                    children = sorted(candidate.iterdir())
                except OSError:
                    continue
                following.extend(
                    c for c in children
                    if c.is_dir() and not c.name.startswith(".") and c.name not in _SKIP_DIRS
                )
        level = following
        if not level:
            break
    raise DataError(
        f"{folder}: no {corpus} corpus root found within {MAX_DEPTH} levels "
        f"(expected {src.describe_marker()})"
    )


# --------------------------------------------------------------------------- download


def _check_file(path: Path, size: int | None, md5: str | None) -> tuple[str | None, str | None]:
    """(problem or None, md5 computed or None) of a finished file."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"size is {actual_size} bytes, expected {size}", None
    if md5:
        actual = md5_file(path)
        if actual.lower() != md5.lower():
            return f"md5 is {actual}, expected {md5.lower()}", actual
        return None, actual
    return None, None


def _reject(path: Path, final_name: str, problem: str, why: str) -> DataError:
    """Rename a bad file to ``<final_name>.bad`` and return the error to raise."""
    bad = path.with_name(final_name + ".bad")
    os.replace(path, bad)
    return DataError(f"{final_name}: {problem} ({why}; removed to {bad})")


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.I)
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)", re.I)


def _int_header(headers, name: str) -> int | None:
    value = headers.get(name) if headers is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def download(
    url: str,
    path: str | os.PathLike,
    *,
    size: int | None = None,
    md5: str | None = None,
    progress: bool = True,
    log: Log | None = None,
) -> Path:
    """Download ``url`` to ``path``, resumably, and verify it.

    The bytes go to ``<path>.part``; an existing ``.part`` is resumed with a
    ``Range`` request (a server that ignores it restarts from byte 0; a 416 answer
    means the part is already complete or stale). When the transfer is complete
    the file is checked against ``size`` and ``md5`` (when given) and renamed to
    ``path``. An existing ``path`` that verifies is reused without any request.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    DataError
        Network or HTTP error (the ``.part`` file is kept for a later resume), or
        the file fails verification (it is renamed to ``<name>.bad``).
    """
    log = log or _nolog
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    # one process at a time per file: two downloads of it would write the same .part
    with file_lock(path.with_name(f".{path.name}.lock"), on_wait=_warn):
        return _download(url, path, size=size, md5=md5, progress=progress, log=log)


def _download(url: str, path: Path, *, size: int | None, md5: str | None, progress: bool, log: Log) -> Path:
    part = path.with_name(path.name + ".part")

    if path.exists():
        problem, _ = _check_file(path, size, md5)
        if problem is None:
            log("download-reused", url=url, path=str(path))
            return path
        bad = path.with_name(path.name + ".bad")
        os.replace(path, bad)
        log("download-bad-existing", url=url, path=str(path), problem=problem, moved_to=str(bad))
        _warn(f"{path.name}: {problem}; moved to {bad}, downloading again")

    keep = f"partial download kept in {part}; run again to resume"
    for _attempt in range(3):
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > size:
            log("download-part-too-large", url=url, part=str(part), bytes=offset, expected=size)
            part.unlink()
            offset = 0
        if size is not None and offset == size and offset > 0:
            break  # already complete: just verify
        request = urllib.request.Request(url, headers={"User-Agent": "xaispec-download"})
        if offset:
            request.add_header("Range", f"bytes={offset}-")
        log("download-start", url=url, path=str(path), resume_from=offset)
        try:
            response = urllib.request.urlopen(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as e:
            if e.code == 416 and offset:
                m = _UNSATISFIED.search(e.headers.get("Content-Range", "") if e.headers else "")
                total = int(m.group(1)) if m else None
                e.close()
                if total is not None and total == offset and (size is None or size == offset):
                    log("download-range-complete", url=url, bytes=offset)
                    break
                log("download-range-unsatisfiable", url=url, part_bytes=offset, total=total)
                part.unlink()
                continue
            e.close()
            raise DataError(f"{url}: HTTP {e.code} {e.reason}" + (f" ({keep})" if offset else "")) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            raise DataError(f"{url}: cannot download ({reason})" + (f" ({keep})" if offset else "")) from None

        with response:
            status = getattr(response, "status", None)
            headers = response.headers
            length = _int_header(headers, "Content-Length")
            if offset and status == 206:
                m = _CONTENT_RANGE.search(headers.get("Content-Range", ""))
                if m is None or int(m.group(1)) != offset:
                    log("download-range-mismatch", url=url, asked=offset,
                        content_range=headers.get("Content-Range"))
                    part.unlink()
                    continue
                total = int(m.group(3)) if m.group(3) != "*" else (
                    offset + length if length is not None else None)
                mode = "ab"
                log("download-resume", url=url, resume_from=offset, total=total)
            else:
                if offset:
                    log("download-range-ignored", url=url, status=status, discarded=offset)
                offset = 0
                total = length
                mode = "wb"
            if size is not None and total is not None and total != size:
                raise DataError(
                    f"{url}: server reports {total} bytes, expected {size} for {path.name} "
                    f"(wrong URL or changed file)"
                )
            received = offset
            try:
                with open(part, mode) as f, tqdm(
                    total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=path.name, disable=not progress, leave=False,
                ) as bar:
                    while True:
                        block = response.read(_CHUNK)
                        if not block:
                            break
                        f.write(block)
                        received += len(block)
                        bar.update(len(block))
            except (OSError, http.client.HTTPException) as e:
                raise DataError(f"{url}: download interrupted after {received} bytes ({e}) ({keep})") from None
        if total is not None and received < total:
            raise DataError(f"{url}: connection closed after {received} of {total} bytes ({keep})")
        break
    else:
        raise DataError(f"{url}: the server does not answer range requests consistently; giving up")

    problem, actual_md5 = _check_file(part, size, md5)
    if problem is not None:
        log("download-bad", url=url, path=str(path), problem=problem)
        raise _reject(part, path.name, problem, "corrupt or incomplete download")
    os.replace(part, path)
    log("download-done", url=url, path=str(path), bytes=path.stat().st_size, md5=actual_md5)
    return path


# --------------------------------------------------------------------------- safe_extract


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
                shutil.copyfileobj(src, out, _CHUNK)


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
    kind = _archive_kind(archive.name)
    if kind is None:
        if zipfile.is_zipfile(archive):
            kind = "zip"
        elif tarfile.is_tarfile(archive):
            kind = "tar"
        else:
            raise DataError(f"{archive}: not a zip or tar archive (supported: {', '.join(_ARCHIVE_SUFFIXES)})")
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


# --------------------------------------------------------------------------- fetch


def _link_sidecar(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.xaispec-link.json")


def _link_is_ours(dest: Path) -> bool:
    sidecar = _link_sidecar(dest)
    if not (dest.is_symlink() and sidecar.is_file()):
        return False
    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8")).get("target")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded == os.readlink(dest)


def _is_complete(dest: Path) -> bool:
    marker = dest / COMPLETE_MARKER
    if not marker.is_file():
        return False
    try:
        return isinstance(json.loads(marker.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


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
    if not path.is_file() or _archive_kind(path.name) is None:
        raise DataError(f"{path}: unsupported source file type (expected a folder or an archive: {', '.join(_ARCHIVE_SUFFIXES)})")
    return "archive", path


def _url_filename(url: str, src: CorpusSource) -> str:
    base = os.path.basename(urllib.parse.unquote(urllib.parse.urlparse(url).path))
    return base if base and _archive_kind(base) else src.filename


def _symlink_atomic(dest: Path, target: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.link-{os.getpid()}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp, target_is_directory=True)
    os.replace(tmp, dest)


def _set_aside_incomplete(dest: Path, log: Log, reason: str) -> None:
    """Report an unfinished ``dest`` folder and move it out of the way (never delete it)."""
    if not any(dest.iterdir()):
        dest.rmdir()
        log("dest-empty-removed", dest=str(dest))
        return
    aside = _free_name(dest, "incomplete")
    os.replace(dest, aside)
    log("dest-incomplete", dest=str(dest), moved_to=str(aside), reason=reason)
    _warn(f"{dest}: {reason}; moved it aside to {aside}")


def _fetch_folder(folder: Path, src: CorpusSource, dest: Path, force: bool, log: Log) -> Path:
    root = locate_root(folder, src.name).resolve()
    if dest.is_symlink():
        current = os.readlink(dest)
        if dest.resolve() == root:
            log("corpus-link-reused", corpus=src.name, dest=str(dest), target=str(root))
            return dest
        if not (force or _link_is_ours(dest)):
            raise DataError(
                f"{dest}: is a symlink to {current} not created by xaispec; "
                f"pass force=True to point it at {root}"
            )
        log("corpus-link-replaced", corpus=src.name, dest=str(dest), old_target=current)
    elif dest.is_dir():
        if dest.resolve() == root:
            log("corpus-in-place", corpus=src.name, dest=str(dest))
            return dest
        if _is_complete(dest):
            if not force:
                log("corpus-reused", corpus=src.name, dest=str(dest), note="complete copy kept; force=True links the folder instead")
                return dest
            link = dest.with_name(f".{dest.name}.link-{os.getpid()}")
            os.symlink(root, link, target_is_directory=True)
            exchange(link, dest)   # the link in, in one step; the old copy now at `link`
            shutil.rmtree(link, ignore_errors=True)
            log("corpus-copy-replaced-by-link", corpus=src.name, dest=str(dest))
        else:
            _set_aside_incomplete(dest, log, "folder without the completion marker (unfinished extraction?)")
    elif os.path.lexists(dest):
        raise DataError(f"{dest}: exists and is not a folder; remove it or choose another dest")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.is_symlink() or dest.resolve() != root:
        _symlink_atomic(dest, root)
    write_json_atomic(_link_sidecar(dest), {"corpus": src.name, "target": str(root), "source": str(folder), "time": _now()})
    log("corpus-linked", corpus=src.name, dest=str(dest), target=str(root), source=str(folder))
    return dest


def _verify_local(archive: Path, src: CorpusSource, owned: bool, log: Log) -> str | None:
    """Lenient check of an archive that is not the known download; returns md5 if computed."""
    if src.size is None and not src.md5:
        return None
    actual_size = archive.stat().st_size
    if src.size is not None and actual_size != src.size:
        log("archive-unverified", archive=str(archive), size=actual_size, known_size=src.size,
            reason="size differs from the published archive (repacked?); md5 not checked")
        _warn(f"{archive.name}: {actual_size} bytes, not the published {src.size}; "
              f"treating it as a repacked archive and not checking its md5")
        return None
    if not src.md5:
        return None
    actual = md5_file(archive)
    if actual.lower() != src.md5.lower():
        problem = f"md5 is {actual}, expected {src.md5.lower()}"
        log("archive-bad", archive=str(archive), problem=problem)
        if owned:
            raise _reject(archive, archive.name, problem, "corrupt download")
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
    src = _source(corpus)
    log = log or _nolog
    dest = Path(dest).expanduser().absolute()
    downloads_dir = Path(downloads_dir).expanduser()
    kind, value = _classify(source, src)
    # one process at a time per corpus folder: a second one waits, then finds it complete
    with file_lock(dest.parent / f".{dest.name}.lock", on_wait=_warn):
        return _fetch(corpus, src, kind, value, source, dest, downloads_dir, force, progress, log)


def _fetch(corpus: str, src: CorpusSource, kind: str, value, source, dest: Path, downloads_dir: Path,
           force: bool, progress: bool, log: Log) -> Path:
    if kind == "folder":
        return _fetch_folder(Path(value), src, dest, force, log)

    # ---- what is at dest now?
    if dest.is_symlink():
        if source is None and not force and _has_marker(dest, src):
            log("corpus-link-reused", corpus=corpus, dest=str(dest), target=os.readlink(dest))
            return dest
        if not (force or _link_is_ours(dest)):
            raise DataError(
                f"{dest}: is a symlink to {os.readlink(dest)} not created by xaispec; "
                f"pass force=True to replace it with an extracted copy"
            )
    elif dest.is_dir():
        if _is_complete(dest):
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
        _warn(f"{partial}: left over from an interrupted extraction; removing it and extracting again")
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
            "time": _now(),
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
        _link_sidecar(dest).unlink(missing_ok=True)
    elif dest.is_dir() and _is_complete(dest):  # force=True
        exchange(root, dest)   # the new copy in, in one step; the old one now inside `partial`
    else:
        if dest.is_dir():
            _set_aside_incomplete(dest, log, "folder without the completion marker (unfinished extraction?); extracting again")
        os.replace(root, dest)
    for stale in dest.parent.glob(f".{glob_escape(dest.name)}.replaced-*"):
        if stale.is_dir() and not stale.is_symlink() and (stale / COMPLETE_MARKER).is_file():
            shutil.rmtree(stale, ignore_errors=True)  # an old copy left by an earlier version's swap
    if os.path.lexists(partial):
        shutil.rmtree(partial, ignore_errors=True)
    log("corpus-extracted", corpus=corpus, dest=str(dest), archive=str(archive), files=n_files, source=origin)
    return dest
