"""Preparation: a corpus index -> one HDF5 store per representation.

1. The store's arrays are allocated under a temporary name, one row per indexed sample,
   each array one contiguous block of the file.
2. Worker processes take chunks of samples: each file is read once, checked (decoding,
   duration, NaN/Inf, ...) and turned into its arrays, which are written straight into
   their rows; a small marker file then records the chunk's per-sample metadata and
   skips. A rerun after a kill computes only the samples no marker covers.
3. Files that failed their checks are reported; if any were skipped, the good rows are
   copied into a store of the right size. The index table and attributes are added and
   the complete file is renamed to its final name.

Every byte is determined by the inputs and the configuration (no timestamps, each
sample's random draws seeded by its id), so an interrupted and an uninterrupted run
give the same file, whatever the number of workers, and a failed run never replaces a
finished store.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import features as F
from .._io import atomic_path, write_json_atomic, write_text_atomic
from ..audio.reading import probe_audio, read_audio
from ..errors import DataError, ParameterError, XaispecError
from ..events import EventLog
from .corpora import Skip, get_corpus, index_corpus, main_label
from .store import create_preallocated, finish_store, store_name

REPRESENTATIONS = ("alexnet", "mel128", "mel2d")
STORE_FORMAT = 1


@dataclass(frozen=True)
class PrepareConfig:
    """Everything that determines a store's content."""

    corpus: str
    representation: str = "alexnet"
    mode: str = "exact"
    long_clips: str = "crop"
    seed: int = 0

    def __post_init__(self):
        if self.representation not in REPRESENTATIONS:
            raise ParameterError(
                f"representation={self.representation!r} is not one of {list(REPRESENTATIONS)}")
        if self.mode not in F.MODES:
            raise ParameterError(f"mode={self.mode!r} is not one of {list(F.MODES)}")
        if self.long_clips not in F.LONG_CLIPS:
            raise ParameterError(f"long_clips={self.long_clips!r} is not one of {list(F.LONG_CLIPS)}")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["store_format"] = STORE_FORMAT
        if self.representation == "alexnet":
            out.update(sr=F.ALEXNET_SR, length=F.ALEXNET_LEN, nperseg=F.NPERSEG,
                       noverlap=F.NOVERLAP, window="hann", shape=list(F.ALEXNET_SHAPE), db_ref="max")
        else:
            out.update(sr=F.MEL_SR, offset=F.MEL_OFFSET, duration=F.MEL_DURATION,
                       noise_factor=F.NOISE_FACTOR)
        return out


@dataclass
class PrepareResult:
    """What :func:`prepare` did."""

    store: Path | None
    n_samples: int
    skipped: list[Skip] = field(default_factory=list)
    reused: bool = False
    report: Path | None = None


# ---------------------------------------------------------------- per-sample work
#
# One function per representation reads a file once and returns everything about the
# sample (offsets, flags, checksum: the index columns) and its arrays, raising
# DataError for a file to skip.

def _alexnet(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    audio = read_audio(path)
    n = F.resampled_length(len(audio.samples), audio.sr, F.ALEXNET_SR)
    cropped = n > F.ALEXNET_LEN
    if cropped and cfg.long_clips == "error":
        raise DataError(f"{path}: {n} samples at 8 kHz, longer than {F.ALEXNET_LEN} (1 s); "
                        "use --long-clips crop to keep its most energetic second")
    offset = F.draw_offset(min(n, F.ALEXNET_LEN), F.sample_rng(cfg.seed, sample_id))
    meta = {"offset": offset, "n_samples": min(n, F.ALEXNET_LEN), "cropped": bool(cropped),
            "duration": audio.duration, "sample_rate": audio.sr, "channels": audio.channels,
            "source_sha256": audio.sha256}
    x = F.embedded_second(audio.samples, sr=audio.sr, offset=offset, mode=cfg.mode, name=str(path))
    spectrogram = F.alexnet_spectrogram if cfg.mode == "exact" else F.alexnet_spectrogram_fast
    return meta, {"x": spectrogram(x)}


def _mel_meta(path: Path) -> dict:
    audio = probe_audio(path)
    if audio.duration <= F.MEL_OFFSET:
        raise DataError(f"{path}: {audio.duration:.2f} s, too short for the {F.MEL_OFFSET} s offset")
    return {"duration": audio.duration, "sample_rate": audio.sr, "channels": audio.channels,
            "source_sha256": audio.sha256}


def _mel_excerpt(path: Path) -> np.ndarray:
    import librosa

    # the emotion study's call, so its features are reproduced exactly
    y, _ = librosa.load(path, sr=F.MEL_SR, offset=F.MEL_OFFSET, duration=F.MEL_DURATION)
    return y


def _mel128(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    meta = _mel_meta(path)
    y = _mel_excerpt(path)
    noisy = F.add_noise(y, F.sample_rng(cfg.seed, sample_id))
    return meta, {"x": F.mel128(y), "x_augmented": F.mel128(noisy)}


def _mel2d(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    meta = _mel_meta(path)
    return meta, {"x": F.mel2d(_mel_excerpt(path))}


_SAMPLE = {"alexnet": _alexnet, "mel128": _mel128, "mel2d": _mel2d}
#: the arrays of each representation: name -> (shape of one row, dtype)
ARRAYS = {
    "alexnet": {"x": (F.ALEXNET_SHAPE, "<f4")},
    "mel128": {"x": ((F.MEL_BANDS,), "<f4"), "x_augmented": ((F.MEL_BANDS,), "<f4")},
    "mel2d": {"x": ((F.MEL2D_BANDS, F.MEL2D_FRAMES), "<f4")},
}


def _write_rows(fd: int, buf: np.ndarray, at: int) -> None:
    """Write a C-contiguous array's bytes at byte ``at`` of an open file."""
    view = memoryview(buf).cast("B")
    pos = 0
    while pos < len(view):
        pos += os.pwrite(fd, view[pos:], at + pos)


_BUFFERS: dict = {}


def _buffer(name: str, shape: tuple, dtype: str) -> np.ndarray:
    """A chunk's rows of one array, reused from chunk to chunk (fresh memory costs page faults)."""
    key = (name, shape[1:], dtype)
    if key not in _BUFFERS or len(_BUFFERS[key]) < shape[0]:
        _BUFFERS[key] = np.empty(shape, dtype=np.dtype(dtype))
    return _BUFFERS[key][:shape[0]]


def _prepare_chunk(job: tuple) -> dict:
    """Read, check and compute a chunk of samples; write their rows in place; mark it done.

    The marker (written last, atomically) holds each sample's metadata or skip reason;
    it is also what the function returns.
    """
    root, rows, start, cfg, store_path, layout, marker = job
    buffers = {name: _buffer(name, (len(rows), *shape[1:]), dtype) for name, (_, shape, dtype) in layout.items()}
    results = []
    for i, (sample_id, rel) in enumerate(rows):
        path = Path(root) / rel
        try:
            meta, arrays = _SAMPLE[cfg.representation](path, sample_id, cfg)
        except DataError as exc:
            results.append([None, str(exc).split(": ", 1)[-1]])
            for buf in buffers.values():
                buf[i] = 0   # a row that is dropped later, but never garbage
            continue
        except Exception as exc:  # not bad input but a failure of ours: stop, naming the file
            raise XaispecError(f"{path}: preparing it failed ({exc.__class__.__name__}: {exc})") from exc
        for name, arr in arrays.items():
            buffers[name][i] = arr
        results.append([meta, None])
    fd = os.open(store_path, os.O_WRONLY)
    try:
        for name, (offset, _, _) in layout.items():
            # each array is one contiguous block of the file: this chunk's rows go in place,
            # through the OS (no flush): a killed worker loses nothing it wrote
            buf = buffers[name]
            _write_rows(fd, buf, offset + start * buf[0].nbytes)
    finally:
        os.close(fd)
    finished = {"start": start, "stop": start + len(rows), "results": results}
    write_json_atomic(marker, finished)
    return finished


def _markers(parts: Path) -> list[dict]:
    """The finished chunks recorded in ``parts``, in row order."""
    done = [json.loads(p.read_text(encoding="utf-8")) for p in parts.glob("chunk_*.done")]
    return sorted(done, key=lambda m: m["start"])


def _todo(n: int, done: list[dict], chunk_size: int, workers: int = 1) -> list[tuple[int, int]]:
    """Row ranges ``[start, stop)`` that no finished chunk covers, at most ``chunk_size`` long.

    Towards the end the chunks get shorter (down to 4 rows), so the workers finish together.
    """
    covered = np.zeros(n, dtype=bool)
    for m in done:
        covered[m["start"]:m["stop"]] = True
    missing = np.flatnonzero(~covered)
    out, i = [], 0
    while i < len(missing):
        size = max(4, min(chunk_size, -(-(len(missing) - i) // (2 * workers))))
        part = missing[i:i + size]
        # a chunk is a run of consecutive rows
        stop = int(np.flatnonzero(np.diff(part) != 1)[0]) + 1 if (np.diff(part) != 1).any() else len(part)
        out.append((int(part[0]), int(part[stop - 1]) + 1))
        i += stop
    return out


def _compact(src: Path, layout: dict, keep: list[int], dst: Path) -> None:
    """Copy rows ``keep`` (sorted) of each array of ``src`` into a new store ``dst`` of that size."""
    shapes = {name: ((len(keep), *shape[1:]), dtype) for name, (_, shape, dtype) in layout.items()}
    new = create_preallocated(dst, shapes)
    keep = np.asarray(keep)
    runs = np.split(keep, np.flatnonzero(np.diff(keep) != 1) + 1)
    with open(src, "rb") as fin, open(dst, "r+b") as fout:
        for name, (offset, shape, dtype) in layout.items():
            row = int(np.prod(shape[1:])) * np.dtype(dtype).itemsize
            pos = new[name][0]
            for run in runs:
                for first in range(int(run[0]), int(run[-1]) + 1, 64):  # 64 rows at a time
                    count = min(64, int(run[-1]) + 1 - first)
                    data = os.pread(fin.fileno(), count * row, offset + first * row)
                    _write_rows(fout.fileno(), np.frombuffer(data, dtype=np.uint8), pos)
                    pos += count * row


def _warm(cfg: PrepareConfig) -> None:
    """Import what the workers need once, in the parent: forked workers inherit it instead of
    each paying about a second of imports (librosa loads its submodules lazily)."""
    import scipy.fft  # noqa: F401
    import scipy.signal  # noqa: F401
    import soundfile  # noqa: F401
    import soxr  # noqa: F401

    if cfg.mode == "exact" or cfg.representation != "alexnet":
        import librosa

        librosa.resample, librosa.amplitude_to_db, librosa.load, librosa.feature.melspectrogram


def _pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing
    import sys

    # fork shares the parent's imported modules; elsewhere fall back to the default start method
    ctx = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_start)


def _worker_start() -> None:
    import gc

    # the parent's objects, frozen before the fork, stay out of this process's garbage
    # collections: collecting them would write to (and so copy) every page they live on
    gc.freeze()


def _run(fn, jobs: list, workers: int, pool, bar, sizes: list[int]):
    """Map ``fn`` over ``jobs`` (in order), in the pool when there is one, updating ``bar``."""
    results = pool.map(fn, jobs) if pool is not None else map(fn, jobs)
    out = []
    for result, size in zip(results, sizes):
        bar.update(size)
        out.append(result)
    return out


# ---------------------------------------------------------------- orchestration

def _fingerprint(root: Path, table: pd.DataFrame) -> str:
    """Hash of the indexed files' names, sizes and modification times."""
    h = hashlib.sha256()
    for rel in table["path"]:
        st = (root / rel).stat()
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _config_hash(cfg: PrepareConfig, table: pd.DataFrame) -> str:
    h = hashlib.sha256(json.dumps(cfg.as_dict(), sort_keys=True).encode())
    h.update("\n".join(table["sample_id"] + "\0" + table["path"]).encode())
    return h.hexdigest()


def write_skip_report(path: Path, skips: list[Skip]) -> Path:
    """The skipped-files report: one row per file left out (header only when none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", "stage", "reason"])
    writer.writerows([s.path, s.stage, s.reason] for s in skips)
    return write_text_atomic(path, out.getvalue())


def prepare(corpus: str, root: str | os.PathLike, *, out_dir: str | os.PathLike,
            representation: str = "alexnet", mode: str = "exact", long_clips: str = "crop",
            seed: int = 0, workers: int = 2, chunk_size: int = 32, force: bool = False,
            progress: bool = True, limit: int | None = None) -> PrepareResult:
    """Prepare one representation of a corpus into ``out_dir/<representation>.h5``.

    Parameters
    ----------
    corpus : str
        A corpus name (see :data:`xaispec.data.corpora.CORPORA`) or a manifest CSV.
    root : path-like
        The corpus folder (or the manifest CSV).
    out_dir : path-like
        Folder of the store, its skipped-files report and events log.
    representation : {"alexnet", "mel128", "mel2d"}
    mode : {"exact", "fast"}
        ``exact`` reproduces the study's spectrograms; ``fast`` resamples with soxr and
        computes the spectrogram in single precision (store ``<representation>_fast.h5``).
    long_clips : {"crop", "error"}
        Clips longer than 1 s at 8 kHz: keep the most energetic second and flag the
        sample (``cropped``), or refuse to write the store, naming every such file.
    seed : int
        Seeds the per-sample offsets and noise (with the sample id).
    workers : int
        Processes (1 = in this process).
    chunk_size : int
        Samples per resumable chunk.
    force : bool
        Rebuild even if an up-to-date store exists (the old one is replaced only at the end).
    limit : int, optional
        Only the first ``limit`` samples in index order (quick looks and tests).

    Returns
    -------
    PrepareResult
        The store path, sample count, skips and report path.

    Raises
    ------
    DataError
        No usable recording; every recording skipped; long clips with ``long_clips="error"``.
    """
    cfg = PrepareConfig(corpus=get_corpus(corpus).name, representation=representation, mode=mode,
                        long_clips=long_clips, seed=seed)
    if workers < 1 or chunk_size < 1:
        raise ParameterError(f"workers={workers} and chunk_size={chunk_size} must be at least 1")
    root = Path(root)
    out_dir = Path(out_dir)
    store = out_dir / store_name(representation, mode)
    report = store.with_suffix(".skipped.csv")
    sidecar = store.with_suffix(".json")
    log = EventLog(out_dir)

    table, skips = index_corpus(corpus, root)
    if limit is not None:
        table = table.iloc[:limit].reset_index(drop=True)
    if table.empty:
        raise DataError(f"{root}: no usable recordings found for corpus {corpus!r}"
                        + (f" ({len(skips)} skipped, e.g. {skips[0].line()})" if skips else ""))
    data_root = root.parent if root.suffix == ".csv" else root
    chash = _config_hash(cfg, table)
    fprint = _fingerprint(data_root, table)

    if store.is_file() and sidecar.is_file() and not force:
        done = json.loads(sidecar.read_text(encoding="utf-8"))
        if done.get("config_hash") == chash and done.get("fingerprint") == fprint:
            log("prepare_reused", store=str(store))
            previous = [Skip(**s) for s in done.get("skipped", [])]
            return PrepareResult(store, done["n_samples"], previous, reused=True, report=report)

    from tqdm.auto import tqdm

    from ..provenance import record, start_git_commit

    commit = start_git_commit()   # git answers while the samples are computed
    # 1. the arrays under a temporary name, one row per indexed sample (kept when resuming)
    rows = list(zip(table["sample_id"], table["path"]))
    parts = out_dir / f".{store.stem}.parts-{chash[:12]}"
    raw = parts / "rows.h5"
    created = parts / "created.json"
    stamp = {"config_hash": chash, "fingerprint": fprint, "n": len(rows)}
    state = json.loads(created.read_text(encoding="utf-8")) if created.is_file() else {}
    if (not raw.is_file() or (parts / "finishing").exists()
            or {k: state.get(k) for k in stamp} != stamp):
        # nothing usable to resume from (another input, or killed while finishing): start over
        shutil.rmtree(parts, ignore_errors=True)
        parts.mkdir(parents=True)
        shapes = {k: ((len(rows), *shape), dtype) for k, (shape, dtype) in ARRAYS[representation].items()}
        write_json_atomic(created, {**stamp, "layout": create_preallocated(raw, shapes)})
    layout = json.loads(created.read_text(encoding="utf-8"))["layout"]

    # 2. read, check and compute every sample no finished chunk covers
    done = _markers(parts)
    todo = _todo(len(rows), done, chunk_size, workers)
    jobs = [(str(data_root), rows[a:b], a, cfg, str(raw), layout, parts / f"chunk_{a:07d}_{b:07d}.done")
            for a, b in todo]
    sizes = [b - a for a, b in todo]
    log("prepare_start", corpus=cfg.corpus, representation=representation, mode=mode, samples=len(rows),
        chunks=len(done) + len(jobs), resumed_chunks=len(done), workers=workers)
    if jobs:
        _warm(cfg)
        pool = _pool(workers) if workers > 1 and len(jobs) > 1 else None
        try:
            with tqdm(total=len(rows), initial=len(rows) - sum(sizes), unit="file",
                      desc=f"prepare {cfg.corpus}/{store.stem}", disable=not progress) as bar:
                done += _run(_prepare_chunk, jobs, workers, pool, bar, sizes)
        except BaseException:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            raise
        else:
            if pool is not None:
                pool.shutdown(wait=False)   # all done: the workers exit while the store is finished
        finally:
            _BUFFERS.clear()
    results = [r for m in sorted(done, key=lambda m: m["start"]) for r in m["results"]]
    if len(results) != len(rows):
        raise XaispecError(f"{parts}: finished chunks cover {len(results)} of {len(rows)} samples")

    # 3. skips reported; the good rows, index and attributes make the store
    good = [i for i, (meta, _) in enumerate(results) if meta is not None]
    skips += [Skip(rows[i][1], reason, "prepare") for i, (meta, reason) in enumerate(results) if meta is None]
    write_skip_report(report, skips)
    for s in skips:
        log("skipped", path=s.path, stage=s.stage, reason=s.reason)
    long_refused = [s for s in skips if s.stage == "prepare" and "longer than" in s.reason]
    if long_refused and long_clips == "error":
        shutil.rmtree(parts, ignore_errors=True)
        log("prepare_refused", long_clips=len(long_refused))
        raise DataError(f"{len(long_refused)} clip(s) longer than 1 s at 8 kHz, listed in {report}; "
                        "no store written (rerun with --long-clips crop to keep their loudest second)")
    if not good:
        shutil.rmtree(parts, ignore_errors=True)
        raise DataError(f"{root}: every recording was skipped ({len(skips)}), see {report}")
    metas = pd.DataFrame([results[i][0] for i in good])
    # columns in one fixed order, whether a chunk's results came from a worker or a marker file
    index = pd.concat([table.iloc[good].reset_index(drop=True), metas[sorted(metas.columns)]], axis=1)
    attrs = {"representation": representation, "corpus": cfg.corpus, "config_hash": chash,
             "config": json.dumps(cfg.as_dict(), sort_keys=True),
             "provenance": json.dumps(record(commit=commit()), sort_keys=True)}
    (parts / "finishing").touch()   # from here on, a killed run starts over
    final = raw
    if len(good) < len(rows):
        final = parts / "store.h5"
        _compact(raw, layout, good, final)
    finish_store(final, index, attrs)

    # 4. complete: rename into place
    os.replace(final, store)
    write_json_atomic(sidecar, {"config_hash": chash, "fingerprint": fprint, "n_samples": len(good),
                                "skipped": [asdict(s) for s in skips]})
    shutil.rmtree(parts, ignore_errors=True)
    if cfg.representation == "mel128":
        write_feature_tables(index, store, out_dir)
    log("prepare_done", store=str(store), samples=len(good), skipped=len(skips))
    return PrepareResult(store, len(good), skips, reused=False, report=report)


def write_feature_tables(index: pd.DataFrame, store: Path, out_dir: Path) -> tuple[Path, Path]:
    """The emotion study's CSVs: ``emoRav_data.csv`` (Emotions, Path) and
    ``speech_features.csv`` (128 feature columns + Emotions; originals then noisy copies)."""
    from .store import Store

    s = Store(store)
    x, xa = s.load(), s.load(name="x_augmented")
    label = index[main_label(index.columns)]
    paths = write_text_atomic(out_dir / "emoRav_data.csv",
                              pd.DataFrame({"Emotions": label, "Path": index["path"]}).to_csv(index=False))
    feats = pd.DataFrame(np.concatenate([x, xa]), columns=[str(i) for i in range(x.shape[1])])
    feats["Emotions"] = list(label) * 2
    table = write_text_atomic(out_dir / "speech_features.csv", feats.to_csv(index=False))
    return paths, table
