"""Downloading one file over HTTP(S) or ``file://``: resumable, verified, one process at a time.

The bytes go to ``<path>.part`` and an interrupted transfer is resumed with a ``Range``
request; the file gets its final name only once it is complete and matches the
published size and MD5. A file that fails verification becomes ``<name>.bad``.
"""
from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from ..._io import file_lock, md5_file
from ...errors import DataError
from ._common import CHUNK, Log, nolog, warn

__all__ = ["TIMEOUT", "download", "reject"]

#: Seconds to wait for the server to answer or to send the next block.
TIMEOUT = 60.0


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


def reject(path: Path, final_name: str, problem: str, why: str) -> DataError:
    """Rename a bad file to ``<final_name>.bad`` and return the error to raise."""
    bad = path.with_name(final_name + ".bad")
    os.replace(path, bad)
    return DataError(f"{final_name}: {problem} ({why}; removed to {bad})")


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.I)
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)", re.I)


def _int_header(headers, name: str) -> int | None:
    """An integer header's value, or None when missing or not a number."""
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
    log = log or nolog
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    # one process at a time per file: two downloads of it would write the same .part
    with file_lock(path.with_name(f".{path.name}.lock"), on_wait=warn):
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
        warn(f"{path.name}: {problem}; moved to {bad}, downloading again")

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
                        block = response.read(CHUNK)
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
        raise reject(part, path.name, problem, "corrupt or incomplete download")
    os.replace(part, path)
    log("download-done", url=url, path=str(path), bytes=path.stat().st_size, md5=actual_md5)
    return path

