"""Tests of xaispec.data.fetch against small local archives and a local HTTP server."""
from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import json
import os
import re
import tarfile
import threading
import urllib.parse
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from xaispec.data import fetch as dl
from xaispec.errors import DataError, ParameterError
from xaispec.events import EventLog


# --------------------------------------------------------------------------- fake corpora


def wav_bytes(seed: int, n: int = 3000) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    sf.write(buf, rng.uniform(-0.5, 0.5, n), 8000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def layout(corpus: str) -> dict[str, bytes]:
    if corpus == "ravdess":  # actors at the archive's top level
        return {
            "Actor_01/03-01-01-01-01-01-01.wav": wav_bytes(1),
            "Actor_01/03-01-02-01-01-01-01.wav": wav_bytes(2),
            "Actor_02/03-01-01-01-01-01-02.wav": wav_bytes(3),
        }
    if corpus == "audiomnist":
        top = "AudioMNIST-master/"
        return {
            top + "README.md": b"AudioMNIST\n",
            top + "data/audioMNIST_meta.txt": b'{"01": {"age": "30"}}\n',
            top + "data/01/0_01_0.wav": wav_bytes(4),
            top + "data/01/1_01_0.wav": wav_bytes(5),
        }
    if corpus == "fsdd":
        top = "free-spoken-digit-dataset-master/"
        return {
            top + "README.md": b"FSDD\n",
            top + "recordings/0_jackson_0.wav": wav_bytes(6),
            top + "recordings/1_nicolas_3.wav": wav_bytes(7),
            top + "recordings/9_theo_49.wav": wav_bytes(8),
        }
    raise AssertionError(corpus)


ROOT_PREFIX = {"ravdess": "", "audiomnist": "AudioMNIST-master/", "fsdd": "free-spoken-digit-dataset-master/"}


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def make_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def patch_source(monkeypatch, corpus, *, url=None, data: bytes | None = None, size="same", md5_="same"):
    """Point SOURCES[corpus] at a local URL, with the size/md5 of ``data``."""
    src = dl.SOURCES[corpus]
    changes = {}
    if url is not None:
        changes["url"] = url
    if data is not None:
        changes["size"] = len(data) if size == "same" else size
        changes["md5"] = md5(data) if md5_ == "same" else md5_
    new = dataclasses.replace(src, **changes)
    monkeypatch.setitem(dl.SOURCES, corpus, new)
    return new


def check_corpus(root: Path, corpus: str) -> None:
    prefix = ROOT_PREFIX[corpus]
    for name, data in layout(corpus).items():
        assert (root / name[len(prefix):]).read_bytes() == data


def files_named(folder: Path, name: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name == name]


# --------------------------------------------------------------------------- local HTTP server


class ServerState:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.ignore_range = False
        self.drops = 0          # how many of the next responses are cut short
        self.drop_after = 0     # bytes sent before a cut
        self.base = ""

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves ServerState.files, with single-range support and scripted failures."""

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        state: ServerState = self.server.state
        name = urllib.parse.unquote(urllib.parse.urlparse(self.path).path.lstrip("/"))
        rng = self.headers.get("Range")
        state.requests.append((name, rng))
        data = state.files.get(name)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        if rng and not state.ignore_range:
            m = re.fullmatch(r"bytes=(\d+)-", rng)
            assert m, rng
            start = int(m.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if state.drops > 0:
            state.drops -= 1
            self.wfile.write(body[: state.drop_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    state = ServerState()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.daemon_threads = True
    httpd.state = state
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    watchdog = threading.Timer(60, httpd.shutdown)  # stops by itself whatever happens
    watchdog.daemon = True
    watchdog.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        watchdog.cancel()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def ravdess_zip(tmp_path):
    (tmp_path / "src").mkdir()
    path = make_zip(tmp_path / "src" / "Audio_Speech_Actors_01-24.zip", layout("ravdess"))
    return path


def served_ravdess(server, monkeypatch, archive: Path, **kw):
    data = archive.read_bytes()
    server.files["Audio_Speech_Actors_01-24.zip"] = data
    patch_source(monkeypatch, "ravdess", url=server.url("Audio_Speech_Actors_01-24.zip"), data=data, **kw)
    return data


# --------------------------------------------------------------------------- URL download + extract


@pytest.mark.parametrize("corpus", ["ravdess", "audiomnist", "fsdd"])
def test_url_download_and_extract(tmp_path, server, monkeypatch, corpus):
    archive = make_zip(tmp_path / f"{corpus}.zip", layout(corpus))
    data = archive.read_bytes()
    filename = dl.SOURCES[corpus].filename
    server.files[filename] = data
    patch_source(monkeypatch, corpus, url=server.url(filename), data=data)
    log = EventLog(tmp_path / "run")

    dest = tmp_path / "corpora" / corpus
    root = dl.fetch(corpus, dest=dest, downloads_dir=tmp_path / "dl", progress=(corpus == "fsdd"), log=log)

    assert root == dest and dest.is_dir() and not dest.is_symlink()
    check_corpus(dest, corpus)
    assert (tmp_path / "dl" / filename).read_bytes() == data
    assert not (tmp_path / "dl" / f"{filename}.part").exists()
    assert not (tmp_path / "corpora" / f".{corpus}.partial").exists()
    marker = json.loads((dest / dl.COMPLETE_MARKER).read_text())
    assert marker["files"] == len(layout(corpus))
    assert marker["archive_sha256"] == hashlib.sha256(data).hexdigest()
    assert marker["archive_md5"] == md5(data)
    assert marker["source"] == server.url(filename)
    events = [r["event"] for r in log.read()]
    assert "download-done" in events and "corpus-extracted" in events
    assert server.requests == [(filename, None)]


def test_download_alone_without_checksums(tmp_path, server):
    data = os.urandom(50_000)
    server.files["blob.bin"] = data
    out = dl.download(server.url("blob.bin"), tmp_path / "d" / "blob.bin", progress=False)
    assert out == tmp_path / "d" / "blob.bin" and out.read_bytes() == data
    # a completed download is reused without any request
    n = len(server.requests)
    assert dl.download(server.url("blob.bin"), out, progress=False).read_bytes() == data
    assert len(server.requests) == n


def test_existing_bad_download_is_replaced(tmp_path, server):
    data = os.urandom(30_000)
    server.files["blob.zip"] = data
    out = tmp_path / "blob.zip"
    out.write_bytes(data[:-1] + b"x")  # a finished file that does not verify
    calls = []
    dl.download(server.url("blob.zip"), out, size=len(data), md5=md5(data), progress=False,
                log=lambda event, **fields: calls.append(event))
    assert out.read_bytes() == data
    assert (tmp_path / "blob.zip.bad").read_bytes() == data[:-1] + b"x"
    assert calls[0] == "download-bad-existing" and calls[-1] == "download-done"


def test_download_file_url(tmp_path):
    data = os.urandom(10_000)
    (tmp_path / "blob.zip").write_bytes(data)
    out = dl.download((tmp_path / "blob.zip").as_uri(), tmp_path / "d" / "copy.zip",
                      size=len(data), md5=md5(data), progress=False)
    assert out.read_bytes() == data


# --------------------------------------------------------------------------- resume


def test_resume_after_dropped_connection(tmp_path, server, monkeypatch, ravdess_zip):
    data = served_ravdess(server, monkeypatch, ravdess_zip)
    half = len(data) // 2
    server.drops, server.drop_after = 1, half
    dest, dls = tmp_path / "ravdess", tmp_path / "dl"
    part = dls / "Audio_Speech_Actors_01-24.zip.part"

    with pytest.raises(DataError) as err:
        dl.fetch("ravdess", dest=dest, downloads_dir=dls, progress=False)
    msg = str(err.value)
    assert server.url("Audio_Speech_Actors_01-24.zip") in msg and "resume" in msg and "\n" not in msg
    assert part.stat().st_size == half and part.read_bytes() == data[:half]
    assert not dest.exists()

    root = dl.fetch("ravdess", dest=dest, downloads_dir=dls, progress=False)
    assert (dls / "Audio_Speech_Actors_01-24.zip").read_bytes() == data
    assert not part.exists()
    assert [r[1] for r in server.requests] == [None, f"bytes={half}-"]
    check_corpus(root, "ravdess")


def test_server_ignoring_range_restarts_from_zero(tmp_path, server, monkeypatch, ravdess_zip):
    data = served_ravdess(server, monkeypatch, ravdess_zip)
    server.ignore_range = True
    dls = tmp_path / "dl"
    dls.mkdir()
    # a stale part with wrong bytes: it must be discarded, not glued to the new bytes
    (dls / "Audio_Speech_Actors_01-24.zip.part").write_bytes(b"\xff" * 1000)
    log = EventLog(tmp_path / "run")
    out = dl.download(server.url("Audio_Speech_Actors_01-24.zip"), dls / "Audio_Speech_Actors_01-24.zip",
                      size=len(data), md5=md5(data), progress=False, log=log)
    assert out.read_bytes() == data
    assert server.requests == [("Audio_Speech_Actors_01-24.zip", "bytes=1000-")]
    assert "download-range-ignored" in [r["event"] for r in log.read()]


def test_range_not_satisfiable(tmp_path, server):
    data = os.urandom(20_000)
    server.files["blob.zip"] = data
    dls = tmp_path / "dl"
    dls.mkdir()
    # .part already complete: 416 means done, then verified
    (dls / "blob.zip.part").write_bytes(data)
    assert dl.download(server.url("blob.zip"), dls / "blob.zip", progress=False).read_bytes() == data
    assert server.requests[-1] == ("blob.zip", f"bytes={len(data)}-")
    # .part longer than the file: 416, restart from zero
    (dls / "blob.zip").unlink()
    (dls / "blob.zip.part").write_bytes(data + b"junk")
    assert dl.download(server.url("blob.zip"), dls / "blob.zip", progress=False).read_bytes() == data
    assert [r[1] for r in server.requests[-2:]] == [f"bytes={len(data) + 4}-", None]


# --------------------------------------------------------------------------- verification


def test_md5_mismatch_renames_to_bad(tmp_path, server, monkeypatch, ravdess_zip):
    data = served_ravdess(server, monkeypatch, ravdess_zip, md5_="0123456789abcdef0123456789abcdef")
    dest, dls = tmp_path / "ravdess", tmp_path / "dl"
    with pytest.raises(DataError) as err:
        dl.fetch("ravdess", dest=dest, downloads_dir=dls, progress=False)
    msg = str(err.value)
    assert msg.startswith("Audio_Speech_Actors_01-24.zip: md5 is ")
    assert md5(data) in msg and "0123456789abcdef0123456789abcdef" in msg and ".bad" in msg
    assert (dls / "Audio_Speech_Actors_01-24.zip.bad").read_bytes() == data
    assert not (dls / "Audio_Speech_Actors_01-24.zip").exists()
    assert not (dls / "Audio_Speech_Actors_01-24.zip.part").exists()
    assert not dest.exists() and not (tmp_path / ".ravdess.partial").exists()


def test_size_mismatch_reported_before_downloading(tmp_path, server, monkeypatch, ravdess_zip):
    data = served_ravdess(server, monkeypatch, ravdess_zip, size=123)
    with pytest.raises(DataError, match=r"server reports %d bytes, expected 123" % len(data)):
        dl.fetch("ravdess", dest=tmp_path / "ravdess", downloads_dir=tmp_path / "dl", progress=False)


def test_network_errors_name_the_url(tmp_path, server):
    with pytest.raises(DataError, match=r"missing\.zip: HTTP 404"):
        dl.download(server.url("missing.zip"), tmp_path / "missing.zip", progress=False)
    # a port nobody listens on
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.zip"
    with pytest.raises(DataError, match=re.escape(url) + ": cannot download"):
        dl.download(url, tmp_path / "x.zip", progress=False)


# --------------------------------------------------------------------------- local archives and folders


@pytest.mark.parametrize("suffix,mode", [(".tar.gz", "w:gz"), (".tgz", "w:gz"), (".tar", "w"),
                                         (".tar.bz2", "w:bz2"), (".tar.xz", "w:xz"), (".zip", None)])
def test_local_archive(tmp_path, suffix, mode):
    files = layout("fsdd")
    archive = tmp_path / f"fsdd{suffix}"
    make_zip(archive, files) if mode is None else make_tar(archive, files, mode)
    dest = tmp_path / "corpora" / "fsdd"
    root = dl.fetch("fsdd", source=archive, dest=dest, downloads_dir=tmp_path / "dl", progress=False)
    assert root == dest
    check_corpus(dest, "fsdd")
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").iterdir())
    assert json.loads((dest / dl.COMPLETE_MARKER).read_text())["source"] == str(archive)


def test_local_archive_repacked_or_corrupt(tmp_path, monkeypatch, ravdess_zip, capsys):
    data = ravdess_zip.read_bytes()
    # a repacked archive (different size): extracted, with a warning in the log
    patch_source(monkeypatch, "ravdess", data=data, size=len(data) + 1, md5_="f" * 32)
    log = EventLog(tmp_path / "run")
    dl.fetch("ravdess", source=ravdess_zip, dest=tmp_path / "a", downloads_dir=tmp_path / "dl", progress=False, log=log)
    check_corpus(tmp_path / "a", "ravdess")
    assert "archive-unverified" in [r["event"] for r in log.read()]
    assert "not checking its md5" in capsys.readouterr().err
    # same size as the published archive but other bytes: refused, user's file left alone
    patch_source(monkeypatch, "ravdess", data=data, md5_="f" * 32)
    with pytest.raises(DataError, match=r"Audio_Speech_Actors_01-24\.zip: md5 is [0-9a-f]{32}, expected f{32}"):
        dl.fetch("ravdess", source=ravdess_zip, dest=tmp_path / "b", downloads_dir=tmp_path / "dl", progress=False)
    assert ravdess_zip.read_bytes() == data and not (tmp_path / "b").exists()
    # right size and md5: verified
    patch_source(monkeypatch, "ravdess", data=data)
    dl.fetch("ravdess", source=str(ravdess_zip), dest=tmp_path / "c", downloads_dir=tmp_path / "dl", progress=False, log=log)
    assert json.loads((tmp_path / "c" / dl.COMPLETE_MARKER).read_text())["archive_md5"] == md5(data)


def test_local_folder_is_linked_not_copied(tmp_path):
    store = tmp_path / "store"
    for name, data in layout("audiomnist").items():
        (store / name).parent.mkdir(parents=True, exist_ok=True)
        (store / name).write_bytes(data)
    log = EventLog(tmp_path / "run")
    dest = tmp_path / "corpora" / "audiomnist"
    root = dl.fetch("audiomnist", source=store, dest=dest, downloads_dir=tmp_path / "dl", progress=False, log=log)
    assert root == dest and dest.is_symlink()
    assert dest.resolve() == (store / "AudioMNIST-master").resolve()
    wav = dest / "data" / "01" / "0_01_0.wav"
    assert os.path.samefile(wav, store / "AudioMNIST-master" / "data" / "01" / "0_01_0.wav")
    assert len(list(tmp_path.rglob("0_01_0.wav"))) == 1  # one real file: nothing copied
    assert not (dest / dl.COMPLETE_MARKER).exists()  # nothing written into the user's folder
    assert "corpus-linked" in [r["event"] for r in log.read()]

    # again: reused; another folder: our own link is re-pointed
    assert dl.fetch("audiomnist", source=store, dest=dest, downloads_dir=tmp_path / "dl", progress=False) == dest
    other = tmp_path / "other" / "AudioMNIST-master"
    (other / "data").mkdir(parents=True)
    (other / "data" / "audioMNIST_meta.txt").write_text("{}")
    dl.fetch("audiomnist", source=other.parent, dest=dest, downloads_dir=tmp_path / "dl", progress=False)
    assert dest.resolve() == other.resolve()

    # a symlink someone else made is only replaced with force=True
    foreign = tmp_path / "corpora" / "foreign"
    foreign.symlink_to(tmp_path / "other")
    with pytest.raises(DataError, match="not created by xaispec"):
        dl.fetch("audiomnist", source=store, dest=foreign, downloads_dir=tmp_path / "dl", progress=False)
    assert foreign.resolve() == (tmp_path / "other").resolve()
    dl.fetch("audiomnist", source=store, dest=foreign, downloads_dir=tmp_path / "dl", force=True, progress=False)
    assert foreign.resolve() == (store / "AudioMNIST-master").resolve()


def test_local_folder_without_marker(tmp_path):
    (tmp_path / "empty" / "a" / "b").mkdir(parents=True)
    with pytest.raises(DataError) as err:
        dl.fetch("ravdess", source=tmp_path / "empty", dest=tmp_path / "r", downloads_dir=tmp_path / "dl")
    assert str(tmp_path / "empty") in str(err.value) and "Actor_01" in str(err.value)
    assert not os.path.lexists(tmp_path / "r")


def test_locate_root_depth(tmp_path):
    deep = tmp_path / "three" / "a" / "b" / "c"  # root 3 levels below "three": found
    (deep / "recordings").mkdir(parents=True)
    (deep / "recordings" / "0_x_0.wav").write_bytes(b"")
    assert dl.locate_root(tmp_path / "three", "fsdd") == deep
    # the shallowest root wins, and hidden / __MACOSX folders are not searched
    (tmp_path / "three" / "recordings").mkdir()
    (tmp_path / "three" / "recordings" / "1_y_2.wav").write_bytes(b"")
    assert dl.locate_root(tmp_path / "three", "fsdd") == tmp_path / "three"
    too_deep = tmp_path / "four" / "w" / "x" / "y" / "z"  # 4 levels: not searched
    (too_deep / "recordings").mkdir(parents=True)
    (too_deep / "recordings" / "0_x_0.wav").write_bytes(b"")
    hidden = tmp_path / "four" / "__MACOSX"
    (hidden / "recordings").mkdir(parents=True)
    (hidden / "recordings" / "0_x_0.wav").write_bytes(b"")
    with pytest.raises(DataError, match="four: no fsdd corpus root found within 3 levels"):
        dl.locate_root(tmp_path / "four", "fsdd")
    with pytest.raises(DataError, match="not a folder"):
        dl.locate_root(tmp_path / "nowhere", "fsdd")


# --------------------------------------------------------------------------- unsafe archives


def evil_zip(path: Path, bad_name: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in layout("ravdess").items():
            zf.writestr(name, data)
        info = zipfile.ZipInfo("placeholder")
        info.filename = bad_name  # bypass any normalisation
        zf.writestr(info, b"evil")
    return path


@pytest.mark.parametrize("bad_name", ["../evil.txt", "Actor_01/../../evil.txt", None])
def test_zip_escaping_entries_refused(tmp_path, bad_name):
    work = tmp_path / "work"
    work.mkdir()
    if bad_name is None:  # absolute path inside tmp_path, outside the target
        bad_name = str(tmp_path / "abs_evil.txt")
    archive = evil_zip(work / "evil.zip", bad_name)
    with pytest.raises(DataError) as err:
        dl.safe_extract(archive, work / "target", progress=False)
    assert repr(bad_name) in str(err.value) and "evil.zip" in str(err.value)
    assert not list(tmp_path.rglob("*evil.txt"))

    dest = work / "corpora" / "ravdess"
    with pytest.raises(DataError, match=re.escape(repr(bad_name))):
        dl.fetch("ravdess", source=archive, dest=dest, downloads_dir=work / "dl", progress=False)
    assert not list(tmp_path.rglob("*evil.txt"))
    assert not dest.exists() and not (work / "corpora" / ".ravdess.partial").exists()


def tar_with(path: Path, extra: list[tarfile.TarInfo], payload: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w") as tf:
        for info in extra:
            data = (payload or {}).get(info.name)
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def _sym(name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


def _file(name):
    return tarfile.TarInfo(name)


def test_tar_symlink_escaping_refused(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    # relative link out, then a file written through it
    archive = tar_with(work / "a.tar", [_sym("Actor_01", "../../outside"), _file("Actor_01/evil.wav")],
                       {"Actor_01/evil.wav": b"evil"})
    with pytest.raises(DataError) as err:
        dl.safe_extract(archive, work / "t1", progress=False)
    assert "'Actor_01'" in str(err.value) and "symlink" in str(err.value)
    assert not list(outside.iterdir())

    # absolute link
    archive = tar_with(work / "b.tar", [_sym("link", str(outside))])
    with pytest.raises(DataError, match="'link'.*absolute"):
        dl.safe_extract(archive, work / "t2", progress=False)

    # a link that looks inside textually but escapes through an earlier link
    archive = tar_with(work / "c.tar", [_sym("d", "."), _sym("e", "d/d/.."), _file("e/evil.wav")],
                       {"e/evil.wav": b"evil"})
    with pytest.raises(DataError, match="'e'"):
        dl.safe_extract(archive, work / "t3", progress=False)

    # a hard link to a file outside
    (outside / "secret").write_text("secret")
    hard = tarfile.TarInfo("hard")
    hard.type = tarfile.LNKTYPE
    hard.linkname = "../outside/secret"
    with pytest.raises(DataError, match="'hard'"):
        dl.safe_extract(tar_with(work / "d.tar", [hard]), work / "t4", progress=False)
    assert [p.name for p in outside.iterdir()] == ["secret"]
    assert not list(tmp_path.rglob("evil.wav"))

    # links that stay inside are fine
    ok = {"Actor_01/x.wav": b"abc"}
    archive = tar_with(work / "ok.tar", [_file("Actor_01/x.wav"), _sym("Actor_01/y.wav", "x.wav")], ok)
    out = dl.safe_extract(archive, work / "t5", progress=False)
    assert (out / "Actor_01" / "y.wav").read_bytes() == b"abc"


# --------------------------------------------------------------------------- half-finished states


def test_leftover_partial_is_redone(tmp_path, ravdess_zip):
    partial = tmp_path / "corpora" / ".ravdess.partial"
    (partial / "Actor_01").mkdir(parents=True)
    (partial / "Actor_01" / "half.wav").write_bytes(b"half")
    log = EventLog(tmp_path / "run")
    dest = dl.fetch("ravdess", source=ravdess_zip, dest=tmp_path / "corpora" / "ravdess",
                    downloads_dir=tmp_path / "dl", progress=False, log=log)
    check_corpus(dest, "ravdess")
    assert not (dest / "Actor_01" / "half.wav").exists()
    assert not partial.exists()
    assert "partial-removed" in [r["event"] for r in log.read()]


def test_dest_without_marker_is_moved_aside_and_redone(tmp_path, ravdess_zip, capsys):
    dest = tmp_path / "corpora" / "ravdess"
    (dest / "Actor_01").mkdir(parents=True)
    (dest / "Actor_01" / "mine.wav").write_bytes(b"user data")
    log = EventLog(tmp_path / "run")
    dl.fetch("ravdess", source=ravdess_zip, dest=dest, downloads_dir=tmp_path / "dl", progress=False, log=log)
    check_corpus(dest, "ravdess")
    assert (dest / dl.COMPLETE_MARKER).is_file()
    aside = tmp_path / "corpora" / "ravdess.incomplete-1"
    assert (aside / "Actor_01" / "mine.wav").read_bytes() == b"user data"
    assert not (dest / "Actor_01" / "mine.wav").exists()
    assert "dest-incomplete" in [r["event"] for r in log.read()]
    assert "ravdess.incomplete-1" in capsys.readouterr().err


def test_complete_dest_is_reused_and_force_replaces(tmp_path, server, monkeypatch, ravdess_zip):
    served_ravdess(server, monkeypatch, ravdess_zip)
    dest, dls = tmp_path / "corpora" / "ravdess", tmp_path / "dl"
    dl.fetch("ravdess", dest=dest, downloads_dir=dls, progress=False)
    wav = dest / "Actor_01" / "03-01-01-01-01-01-01.wav"
    marker = dest / dl.COMPLETE_MARKER
    past = 1_000_000_000
    os.utime(wav, (past, past))
    os.utime(marker, (past, past))
    n_requests = len(server.requests)
    log = EventLog(tmp_path / "run")

    assert dl.fetch("ravdess", dest=dest, downloads_dir=dls, progress=False, log=log) == dest
    assert wav.stat().st_mtime == past and marker.stat().st_mtime == past
    assert len(server.requests) == n_requests  # nothing downloaded
    assert [r["event"] for r in log.read()] == ["corpus-reused"]

    # even with the archive gone, the complete dest is used
    (dls / "Audio_Speech_Actors_01-24.zip").unlink()
    server.files.clear()
    assert dl.fetch("ravdess", dest=dest, downloads_dir=dls, progress=False) == dest

    # force re-extracts (and re-downloads the missing archive) and swaps in a fresh copy
    served_ravdess(server, monkeypatch, ravdess_zip)
    dl.fetch("ravdess", dest=dest, downloads_dir=dls, force=True, progress=False)
    assert wav.stat().st_mtime != past and marker.stat().st_mtime != past
    check_corpus(dest, "ravdess")
    # nothing left of the swap; the lock file that keeps two fetches apart stays
    assert sorted(p.name for p in dest.parent.iterdir()) == [".ravdess.lock", "ravdess"]


# --------------------------------------------------------------------------- bad arguments


def test_unknown_corpus_and_bad_sources(tmp_path):
    with pytest.raises(ParameterError) as err:
        dl.fetch("timit", dest=tmp_path / "x", downloads_dir=tmp_path / "dl")
    assert "'timit'" in str(err.value)
    for name in ("audiomnist", "fsdd", "ravdess"):
        assert name in str(err.value)
    with pytest.raises(ValueError):  # ParameterError is a ValueError
        dl.locate_root(tmp_path, "nope")

    missing = tmp_path / "no_such_archive.zip"
    with pytest.raises(DataError, match=re.escape(str(missing)) + ": no such file or folder"):
        dl.fetch("fsdd", source=missing, dest=tmp_path / "x", downloads_dir=tmp_path / "dl")

    rar = tmp_path / "corpus.rar"
    rar.write_bytes(b"Rar!")
    with pytest.raises(DataError, match=re.escape(str(rar)) + ": unsupported source file type"):
        dl.fetch("fsdd", source=rar, dest=tmp_path / "x", downloads_dir=tmp_path / "dl")

    with pytest.raises(DataError, match=r"ftp://example\.org/x\.zip: unsupported URL scheme"):
        dl.fetch("fsdd", source="ftp://example.org/x.zip", dest=tmp_path / "x", downloads_dir=tmp_path / "dl")

    # an archive without the corpus inside
    wrong = make_zip(tmp_path / "wrong.zip", {"readme.txt": b"hi"})
    with pytest.raises(DataError, match=r"wrong\.zip: no fsdd corpus root found in the archive"):
        dl.fetch("fsdd", source=wrong, dest=tmp_path / "x", downloads_dir=tmp_path / "dl", progress=False)
    assert not (tmp_path / "x").exists() and not (tmp_path / ".x.partial").exists()

    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match=r"corrupt\.zip: cannot extract"):
        dl.safe_extract(corrupt, tmp_path / "t", progress=False)


def test_sources_are_well_formed():
    assert set(dl.SOURCES) == {"audiomnist", "ravdess", "fsdd"}
    rav = dl.SOURCES["ravdess"]
    assert rav.size == 208468073 and rav.md5 == "bc696df654c87fed845eb13823edef8a"
    assert rav.filename == "Audio_Speech_Actors_01-24.zip"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rav.size = 1  # type: ignore[misc]


def test_concurrent_fetches_of_one_corpus_extract_it_once(tmp_path):
    import subprocess
    import sys
    import time

    files = layout("fsdd")
    top = ROOT_PREFIX["fsdd"]
    for i in range(400):  # enough files that two unlocked extractions would overlap
        files[f"{top}recordings/{i % 10}_theo_{i}.wav"] = wav_bytes(i, n=4000)
    archive = make_zip(tmp_path / "fsdd.zip", files)
    dest, go = tmp_path / "raw" / "fsdd", tmp_path / "go"
    code = (
        "import sys, time, pathlib\n"
        "from xaispec.data import fetch as dl\n"
        "from xaispec.events import EventLog\n"
        "go = pathlib.Path(sys.argv[1])\n"
        "while not go.exists(): time.sleep(0.005)\n"
        "dl.fetch('fsdd', source=sys.argv[2], dest=sys.argv[3], downloads_dir=sys.argv[4],"
        " progress=False, log=EventLog(sys.argv[5]))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(go), str(archive), str(dest),
                               str(tmp_path / "dl"), str(tmp_path / f"log{i}")], stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    time.sleep(1.0)  # both started and waiting
    go.touch()
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    events = [json.loads(line)["event"] for i in range(2)
              for line in (tmp_path / f"log{i}" / "events.log").read_text().splitlines()]
    assert events.count("corpus-extracted") == 1 and events.count("corpus-reused") == 1, events
    assert "another process holds this lock" in "".join(errs)
    for name, data in files.items():
        assert (dest / name[len(top):]).read_bytes() == data


def test_exchange_swaps_folders_and_links_in_one_step(tmp_path):
    import sys

    from xaispec._io import exchange

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "new.txt").write_text("new")
    (b / "old.txt").write_text("old")
    atomic = exchange(a, b)
    assert (b / "new.txt").read_text() == "new" and (a / "old.txt").read_text() == "old"
    link = tmp_path / "link"
    link.symlink_to(a, target_is_directory=True)
    exchange(link, b)                       # a folder and a link trade places
    assert b.is_symlink() and (b / "old.txt").is_file() and (link / "new.txt").is_file()
    if sys.platform.startswith("linux"):
        assert atomic                       # renameat2(RENAME_EXCHANGE) on this kernel
