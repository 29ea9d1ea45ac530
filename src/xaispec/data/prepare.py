"""Preparation: a corpus index -> one HDF5 store per representation.

Work is cut into chunks of samples. Each chunk is computed by a worker process and
saved as a part file (atomically); a rerun after a kill computes only the missing
chunks. The store is then assembled in index order into a temporary file and renamed,
so an interrupted and a complete run give the same bytes, and a failed run never
replaces a finished store.
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
from .store import create_array, open_for_writing, write_index

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

def _alexnet(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    audio = read_audio(path)
    x = F.resample(audio.samples, sr=audio.sr, target_sr=F.ALEXNET_SR, mode=cfg.mode)
    x, cropped = F.fit_clip(x, long_clips=cfg.long_clips, name=str(path))
    offset = F.draw_offset(len(x), F.sample_rng(cfg.seed, sample_id))
    spec = F.alexnet_spectrogram(F.embed(x, offset=offset))
    meta = {"offset": offset, "n_samples": len(x), "cropped": cropped, "duration": audio.duration,
            "sample_rate": audio.sr, "channels": audio.channels, "source_sha256": audio.sha256}
    return {"x": spec}, meta


def _mel_excerpt(path: Path) -> tuple[np.ndarray, object]:
    import librosa

    audio = read_audio(path)  # checks the file and names what is wrong
    y, _ = librosa.load(path, sr=F.MEL_SR, offset=F.MEL_OFFSET, duration=F.MEL_DURATION)
    if len(y) == 0:
        raise DataError(f"{path}: {audio.duration:.2f} s, too short for the {F.MEL_OFFSET} s offset")
    return y, audio


def _mel128(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    y, audio = _mel_excerpt(path)
    noisy = F.add_noise(y, F.sample_rng(cfg.seed, sample_id))
    meta = {"duration": audio.duration, "sample_rate": audio.sr, "channels": audio.channels,
            "source_sha256": audio.sha256}
    return {"x": F.mel128(y), "x_augmented": F.mel128(noisy)}, meta


def _mel2d(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    y, audio = _mel_excerpt(path)
    meta = {"duration": audio.duration, "sample_rate": audio.sr, "channels": audio.channels,
            "source_sha256": audio.sha256}
    return {"x": F.mel2d(y)}, meta


_WORK = {"alexnet": _alexnet, "mel128": _mel128, "mel2d": _mel2d}


def _run_chunk(job: tuple) -> tuple[int, int, list[tuple[str, str]]]:
    """Compute one chunk and save it as a part file; return (chunk, n_ok, skips)."""
    chunk_no, root, rows, cfg, part = job
    work = _WORK[cfg.representation]
    arrays: dict[str, list] = {}
    metas, ids, skips = [], [], []
    for sample_id, rel in rows:
        try:
            out, meta = work(Path(root) / rel, sample_id, cfg)
        except DataError as exc:
            skips.append((rel, str(exc).split(": ", 1)[-1]))
            continue
        except Exception as exc:  # an unexpected failure of one file must not stop the others
            skips.append((rel, f"failed: {exc.__class__.__name__}: {exc}"))
            continue
        for name, arr in out.items():
            arrays.setdefault(name, []).append(arr)
        metas.append(meta)
        ids.append(sample_id)
    payload = {f"array_{k}": np.stack(v) for k, v in arrays.items()}
    payload["ids"] = np.array(ids, dtype=str)
    payload["meta"] = np.array(json.dumps(metas))
    payload["skips"] = np.array(json.dumps(skips))
    with atomic_path(part) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)
    return chunk_no, len(ids), skips


def _read_part(part: Path) -> tuple[dict, list[str], list[dict], list[tuple[str, str]]]:
    with np.load(part, allow_pickle=False) as z:
        arrays = {k[len("array_"):]: z[k] for k in z.files if k.startswith("array_")}
        return arrays, list(z["ids"]), json.loads(str(z["meta"])), json.loads(str(z["skips"]))


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
        ``exact`` reproduces the study's spectrograms; ``fast`` resamples with soxr.
    long_clips : {"crop", "error"}
        Clips longer than 1 s at 8 kHz: keep the most energetic second and flag the
        sample (``cropped``), or refuse to write the store, naming every such file.
    seed : int
        Seeds the per-sample offsets and noise (with the sample id).
    workers : int
        Processes (1 = in this process).
    chunk_size : int
        Samples per resumable part.
    force : bool
        Rebuild even if an up-to-date store exists (the old one is replaced only at the end).
    limit : int, optional
        Only the first ``limit`` samples in index order (quick looks and tests).

    Returns
    -------
    PrepareResult
        The store path (None when refused), sample count, skips and report path.
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

    parts = out_dir / f".{store.stem}.parts-{chash[:12]}"
    parts.mkdir(parents=True, exist_ok=True)
    rows = list(zip(table["sample_id"], table["path"]))
    chunks = [rows[i:i + chunk_size] for i in range(0, len(rows), chunk_size)]
    part_paths = [parts / f"part_{i:05d}.npz" for i in range(len(chunks))]
    todo = [i for i, p in enumerate(part_paths) if not p.is_file()]
    log("prepare_start", corpus=cfg.corpus, representation=representation, mode=mode,
        samples=len(rows), chunks=len(chunks), resumed_chunks=len(chunks) - len(todo), workers=workers)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(rows), desc=f"prepare {cfg.corpus}/{representation}", unit="file",
               disable=not progress)
    bar.update(sum(len(chunks[i]) for i in range(len(chunks)) if i not in set(todo)))
    jobs = [(i, str(data_root), chunks[i], cfg, part_paths[i]) for i in todo]
    if workers == 1 or len(jobs) <= 1:
        results = map(_run_chunk, jobs)
        for chunk_no, n_ok, chunk_skips in results:
            bar.update(len(chunks[chunk_no]))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for chunk_no, n_ok, chunk_skips in pool.map(_run_chunk, jobs):
                bar.update(len(chunks[chunk_no]))
    bar.close()

    # assemble in index order
    metas, ids, arrays_meta = [], [], None
    for p in part_paths:
        arrays, part_ids, part_meta, part_skips = _read_part(p)
        ids += part_ids
        metas += part_meta
        skips += [Skip(rel, reason, "prepare") for rel, reason in part_skips]
        if arrays and arrays_meta is None:
            arrays_meta = {k: (v.shape[1:], v.dtype) for k, v in arrays.items()}
    write_skip_report(report, skips)
    for s in skips:
        log("skipped", path=s.path, stage=s.stage, reason=s.reason)
    long_refused = [s for s in skips if s.stage == "prepare" and "longer than" in s.reason]
    if long_refused and long_clips == "error":
        log("prepare_refused", long_clips=len(long_refused))
        raise DataError(f"{len(long_refused)} clip(s) longer than 1 s at 8 kHz, listed in {report}; "
                        "no store written (rerun with --long-clips crop to keep their loudest second)")
    if not ids:
        raise DataError(f"{root}: every recording was skipped ({len(skips)}), see {report}")

    kept = table.set_index("sample_id").loc[ids].reset_index()
    meta_table = pd.DataFrame(metas)
    index = pd.concat([kept, meta_table], axis=1)
    from ..provenance import record

    attrs = {"representation": representation, "corpus": cfg.corpus, "config_hash": chash,
             "config": json.dumps(cfg.as_dict(), sort_keys=True),
             "provenance": json.dumps(record(), sort_keys=True)}
    with atomic_path(store) as tmp:
        with open_for_writing(tmp) as h5:
            datasets = {k: create_array(h5, k, (len(ids), *shape), dtype)
                        for k, (shape, dtype) in arrays_meta.items()}
            pos = 0
            for p in part_paths:
                arrays, part_ids, _, _ = _read_part(p)
                for k, ds in datasets.items():
                    if part_ids:
                        ds[pos:pos + len(part_ids)] = arrays[k]
                pos += len(part_ids)
            write_index(h5, index)
            for k, v in attrs.items():
                h5.attrs[k] = v
    write_json_atomic(sidecar, {"config_hash": chash, "fingerprint": fprint, "n_samples": len(ids),
                                "skipped": [asdict(s) for s in skips]})
    if cfg.representation == "mel128":
        write_feature_tables(index, store, out_dir)
    shutil.rmtree(parts, ignore_errors=True)
    log("prepare_done", store=str(store), samples=len(ids), skipped=len(skips))
    return PrepareResult(store, len(ids), skips, reused=False, report=report)


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
