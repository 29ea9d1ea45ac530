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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import features as F
from .._io import write_json_atomic, write_text_atomic
from ..errors import DataError, ParameterError, XaispecError
from ..events import EventLog
from .corpora import Skip, get_corpus, index_corpus, main_label
from .rows import (MASK_DB, arrays, compact_store, has_masks, prepare_chunk, read_markers, release_buffers, run_chunks, todo_ranges,
                   warm_imports, worker_pool)
from .store import create_preallocated, finish_store, store_name

REPRESENTATIONS = ("alexnet", "audionet", "mel128", "mel2d")
STORE_FORMAT = 1

#: how a recording becomes each representation, step by step (as the data chapter lists it)
PREPROCESSING = {
    "alexnet": ("read the WAV (any rate, stereo mixed down)", "resample to 8 kHz (the study's scipy resampler)",
                "embed the clip in 8,000 zeros at a seeded random offset (longer clips: loudest second, flagged)",
                "STFT: 455-sample Hann window, 420 overlap; keep |Z|[0:227, 2:-1]",
                "amplitude to dB relative to the maximum: 227 x 227 values in [-80, 0]",
                "planted-cue corpora: the cue alone through the same steps; its cells within "
                "20 dB of its own maximum are the ground-truth mask"),
    "audionet": ("the same steps as the AlexNet spectrogram up to the embedded second, with the same seeded offset",
                 "the 8,000 samples themselves (each model input is divided by its 95th percentile + 0.001, "
                 "as the AudioMNIST paper's code does)"),
    "mel128": ("load 2.5 s from 0.6 s at 22,050 Hz (librosa)", "128-band mel power spectrogram, mean over time",
               "a second copy with seeded Gaussian noise (the study's augmentation)"),
    "mel2d": ("the same 2.5 s excerpt", "40-band log-mel spectrogram: a 40 x 108 image for image explainers"),
}


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
            if has_masks(self.corpus):
                out["mask_db"] = MASK_DB
        elif self.representation == "audionet":
            out.update(sr=F.ALEXNET_SR, length=F.ALEXNET_LEN)
            if has_masks(self.corpus):
                out["mask_db"] = MASK_DB
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
    # every column, not only ids and paths: a manifest whose labels change must not reuse a store
    # whose index (what training reads its targets from) holds the old ones
    h.update(table.to_csv(index=False, lineterminator="\n").encode())
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
    representation : {"alexnet", "audionet", "mel128", "mel2d"}
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
        shapes = {k: ((len(rows), *shape), dtype) for k, (shape, dtype) in arrays(representation, cfg.corpus).items()}
        write_json_atomic(created, {**stamp, "layout": create_preallocated(raw, shapes)})
    layout = json.loads(created.read_text(encoding="utf-8"))["layout"]

    # 2. read, check and compute every sample no finished chunk covers
    done = read_markers(parts)
    todo = todo_ranges(len(rows), done, chunk_size, workers)
    jobs = [(str(data_root), rows[a:b], a, cfg, str(raw), layout, parts / f"chunk_{a:07d}_{b:07d}.done")
            for a, b in todo]
    sizes = [b - a for a, b in todo]
    log("prepare_start", corpus=cfg.corpus, representation=representation, mode=mode, samples=len(rows),
        chunks=len(done) + len(jobs), resumed_chunks=len(done), workers=workers)
    if jobs:
        warm_imports(cfg)
        pool = worker_pool(workers) if workers > 1 and len(jobs) > 1 else None
        try:
            with tqdm(total=len(rows), initial=len(rows) - sum(sizes), unit="file",
                      desc=f"prepare {cfg.corpus}/{store.stem}", disable=not progress) as bar:
                done += run_chunks(prepare_chunk, jobs, workers, pool, bar, sizes)
        except BaseException as exc:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if isinstance(exc, OSError) and exc.errno is not None:   # a full or read-only disk: say where
                log("prepare_failed", store=str(store), error=exc.strerror)
                raise DataError(f"{parts}: cannot write the parts of {store.name}: {exc.strerror} (the finished "
                                f"chunks are kept: the next run resumes from them)") from exc
            raise
        else:
            if pool is not None:
                pool.shutdown(wait=False)   # all done: the workers exit while the store is finished
        finally:
            release_buffers()
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
    # where the recordings were read from, as given and resolved: the store can be checked against them later
    attrs = {"representation": representation, "corpus": cfg.corpus, "config_hash": chash,
             "source_root": str(data_root), "source_root_resolved": str(Path(data_root).resolve()),
             "config": json.dumps(cfg.as_dict(), sort_keys=True),
             "provenance": json.dumps(record(commit=commit()), sort_keys=True)}
    (parts / "finishing").touch()   # from here on, a killed run starts over
    final = raw
    if len(good) < len(rows):
        final = parts / "store.h5"
        compact_store(raw, layout, good, final)
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
