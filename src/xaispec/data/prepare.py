"""Preparation: a corpus index -> one HDF5 store per representation.

1. A quick check of every file (decode, duration, NaN/Inf, ...) in parallel decides which
   samples go into the store and everything about them but the arrays (offsets, flags,
   checksums): files that fail are skipped and reported.
2. The store is then created under a temporary name with its index, attributes and
   space for the arrays, which are contiguous blocks of the file.
3. Worker processes compute chunks of samples and write their rows straight into
   that space; a small marker file records each finished chunk. A rerun after a kill
   computes only the chunks without a marker.
4. The complete file is renamed to its final name.

Every byte is determined by the inputs and the configuration (no timestamps, each
sample's random draws seeded by its id), so an interrupted and an uninterrupted run
give the same file, whatever the number of workers, and a failed run never replaces a
finished store.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import features as F
from .._io import atomic_path, write_json_atomic, write_text_atomic
from ..audio import read_audio
from ..errors import DataError, ParameterError
from ..events import EventLog
from .corpora import Skip, get_corpus, index_corpus
from .store import create_preallocated

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


def store_name(representation: str, mode: str) -> str:
    """``alexnet.h5`` for the seed-exact mode, ``alexnet_fast.h5`` for the fast one."""
    return f"{representation}.h5" if mode == "exact" else f"{representation}_{mode}.h5"


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
# ``_check_*`` reads a file and returns everything about the sample except its arrays
# (raising DataError for a file to skip); ``_compute_*`` returns the arrays.

def _check_alexnet(path: Path, sample_id: str, cfg: PrepareConfig) -> dict:
    audio = read_audio(path)
    n = F.resampled_length(len(audio.samples), audio.sr, F.ALEXNET_SR)
    cropped = n > F.ALEXNET_LEN
    if cropped and cfg.long_clips == "error":
        raise DataError(f"{path}: {n} samples at 8 kHz, longer than {F.ALEXNET_LEN} (1 s); "
                        "use --long-clips crop to keep its most energetic second")
    n = min(n, F.ALEXNET_LEN)
    offset = F.draw_offset(n, F.sample_rng(cfg.seed, sample_id))
    return {"offset": offset, "n_samples": n, "cropped": cropped, "duration": audio.duration,
            "sample_rate": audio.sr, "channels": audio.channels, "source_sha256": audio.sha256}


def _compute_alexnet(path: Path, sample_id: str, meta: dict, cfg: PrepareConfig) -> dict:
    audio = read_audio(path)
    x = F.resample(audio.samples, sr=audio.sr, target_sr=F.ALEXNET_SR, mode=cfg.mode)
    x, _ = F.fit_clip(x, long_clips="crop", name=str(path))
    spectrogram = F.alexnet_spectrogram if cfg.mode == "exact" else F.alexnet_spectrogram_fast
    return {"x": spectrogram(F.embed(x, offset=meta["offset"]))}


def _check_mel(path: Path, sample_id: str, cfg: PrepareConfig) -> dict:
    audio = read_audio(path)
    if audio.duration <= F.MEL_OFFSET:
        raise DataError(f"{path}: {audio.duration:.2f} s, too short for the {F.MEL_OFFSET} s offset")
    return {"duration": audio.duration, "sample_rate": audio.sr, "channels": audio.channels,
            "source_sha256": audio.sha256}


def _mel_excerpt(path: Path) -> np.ndarray:
    import librosa

    # the emotion study's call, so its features are reproduced exactly
    y, _ = librosa.load(path, sr=F.MEL_SR, offset=F.MEL_OFFSET, duration=F.MEL_DURATION)
    return y


def _compute_mel128(path: Path, sample_id: str, meta: dict, cfg: PrepareConfig) -> dict:
    y = _mel_excerpt(path)
    noisy = F.add_noise(y, F.sample_rng(cfg.seed, sample_id))
    return {"x": F.mel128(y), "x_augmented": F.mel128(noisy)}


def _compute_mel2d(path: Path, sample_id: str, meta: dict, cfg: PrepareConfig) -> dict:
    return {"x": F.mel2d(_mel_excerpt(path))}


_CHECK = {"alexnet": _check_alexnet, "mel128": _check_mel, "mel2d": _check_mel}
_COMPUTE = {"alexnet": _compute_alexnet, "mel128": _compute_mel128, "mel2d": _compute_mel2d}
#: the arrays of each representation: name -> (shape of one row, dtype)
ARRAYS = {
    "alexnet": {"x": (F.ALEXNET_SHAPE, "<f4")},
    "mel128": {"x": ((F.MEL_BANDS,), "<f4"), "x_augmented": ((F.MEL_BANDS,), "<f4")},
    "mel2d": {"x": ((F.MEL2D_BANDS, F.MEL2D_FRAMES), "<f4")},
}


def _check_chunk(job: tuple) -> list[tuple[str, str, dict | None, str | None]]:
    """Check a chunk of files: (sample_id, path, meta or None, skip reason or None) each."""
    root, rows, cfg = job
    out = []
    for sample_id, rel in rows:
        try:
            out.append((sample_id, rel, _CHECK[cfg.representation](Path(root) / rel, sample_id, cfg), None))
        except DataError as exc:
            out.append((sample_id, rel, None, str(exc).split(": ", 1)[-1]))
    return out


def _compute_chunk(job: tuple) -> int:
    """Compute a chunk and write its rows into the preallocated store; mark it done."""
    chunk_no, root, rows, start, cfg, store_path, layout, marker = job
    arrays: dict[str, list] = {}
    for sample_id, rel, meta in rows:
        try:
            out = _COMPUTE[cfg.representation](Path(root) / rel, sample_id, meta, cfg)
        except Exception as exc:  # the file passed its check: a failure now is not a skip
            raise DataError(f"{Path(root) / rel}: failed after passing its checks "
                            f"({exc.__class__.__name__}: {exc})") from exc
        for name, arr in out.items():
            arrays.setdefault(name, []).append(arr)
    for name, (offset, shape, dtype) in layout.items():
        # each array is one contiguous block of the file: write this chunk's rows in place
        block = np.memmap(store_path, dtype=np.dtype(dtype), mode="r+", offset=offset, shape=tuple(shape))
        block[start:start + len(rows)] = np.stack(arrays[name])
        block.flush()
        del block
    marker.write_text("done\n")
    return len(rows)


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
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


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
    table = pd.DataFrame([{"path": s.path, "stage": s.stage, "reason": s.reason} for s in skips],
                         columns=["path", "stage", "reason"])
    return write_text_atomic(path, table.to_csv(index=False))


def prepare(corpus: str, root: str | os.PathLike, *, out_dir: str | os.PathLike,
            representation: str = "alexnet", mode: str = "exact", long_clips: str = "crop",
            seed: int = 0, workers: int = 2, chunk_size: int = 64, force: bool = False,
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

    _warm(cfg)
    rows = list(zip(table["sample_id"], table["path"]))
    pool = _pool(workers) if workers > 1 and len(rows) > chunk_size else None
    try:
        # 1. check every file
        chunks = [rows[i:i + chunk_size] for i in range(0, len(rows), chunk_size)]
        with tqdm(total=len(rows), desc=f"check {cfg.corpus}", unit="file", disable=not progress) as bar:
            checked = _run(_check_chunk, [(str(data_root), c, cfg) for c in chunks], workers, pool, bar,
                           [len(c) for c in chunks])
        good, metas = [], []
        for sample_id, rel, meta, reason in (r for chunk in checked for r in chunk):
            if reason is None:
                good.append((sample_id, rel))
                metas.append(meta)
            else:
                skips.append(Skip(rel, reason, "prepare"))
        write_skip_report(report, skips)
        for s in skips:
            log("skipped", path=s.path, stage=s.stage, reason=s.reason)
        long_refused = [s for s in skips if s.stage == "prepare" and "longer than" in s.reason]
        if long_refused and long_clips == "error":
            log("prepare_refused", long_clips=len(long_refused))
            raise DataError(f"{len(long_refused)} clip(s) longer than 1 s at 8 kHz, listed in {report}; "
                            "no store written (rerun with --long-clips crop to keep their loudest second)")
        if not good:
            raise DataError(f"{root}: every recording was skipped ({len(skips)}), see {report}")

        # 2. the store under a temporary name: index, attributes, space for the arrays
        kept = table.set_index("sample_id").loc[[g[0] for g in good]].reset_index()
        index = pd.concat([kept, pd.DataFrame(metas)], axis=1)
        parts = out_dir / f".{store.stem}.parts-{chash[:12]}"
        tmp_store = parts / "store.h5"
        created = parts / "created.json"
        index_hash = hashlib.sha256(index.to_csv(index=False).encode()).hexdigest()
        if not (created.is_file() and json.loads(created.read_text()).get("index_hash") == index_hash):
            shutil.rmtree(parts, ignore_errors=True)
            parts.mkdir(parents=True)
            from ..provenance import record

            attrs = {"representation": representation, "corpus": cfg.corpus, "config_hash": chash,
                     "config": json.dumps(cfg.as_dict(), sort_keys=True),
                     "provenance": json.dumps(record(), sort_keys=True)}
            shapes = {k: ((len(good), *shape), dtype) for k, (shape, dtype) in ARRAYS[representation].items()}
            layout = create_preallocated(tmp_store, shapes, index, attrs)
            write_json_atomic(created, {"index_hash": index_hash, "layout": layout})
        layout = json.loads(created.read_text())["layout"]

        # 3. compute the chunks without a marker, each writing its rows in place
        jobs, sizes = [], []
        for i in range(0, len(good), chunk_size):
            marker = parts / f"chunk_{i // chunk_size:05d}.done"
            if marker.is_file():
                continue
            chunk = [(s, r, m) for (s, r), m in zip(good[i:i + chunk_size], metas[i:i + chunk_size])]
            jobs.append((i // chunk_size, str(data_root), chunk, i, cfg, str(tmp_store), layout, marker))
            sizes.append(len(chunk))
        log("prepare_start", corpus=cfg.corpus, representation=representation, mode=mode,
            samples=len(good), chunks=-(-len(good) // chunk_size), resumed_chunks=-(-len(good) // chunk_size) - len(jobs),
            workers=workers)
        with tqdm(total=len(good), initial=len(good) - sum(sizes), unit="file",
                  desc=f"prepare {cfg.corpus}/{store.stem}", disable=not progress) as bar:
            _run(_compute_chunk, jobs, workers, pool, bar, sizes)
    finally:
        if pool is not None:
            pool.shutdown()

    # 4. complete: rename into place
    os.replace(tmp_store, store)
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
    label = index["emotion"] if "emotion" in index.columns else index[index.columns[5]]
    paths = write_text_atomic(out_dir / "emoRav_data.csv",
                              pd.DataFrame({"Emotions": label, "Path": index["path"]}).to_csv(index=False))
    feats = pd.DataFrame(np.concatenate([x, xa]), columns=[str(i) for i in range(x.shape[1])])
    feats["Emotions"] = list(label) * 2
    table = write_text_atomic(out_dir / "speech_features.csv", feats.to_csv(index=False))
    return paths, table
