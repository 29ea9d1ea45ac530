"""A store's rows: each representation computed from one file, chunks of samples computed
in worker processes and written straight into their rows, marker files that let a killed
run resume, and the copy that drops skipped rows.

One function per representation reads a file once and returns everything about the
sample (offsets, flags, checksum: the index columns) and its arrays, raising
:class:`~xaispec.errors.DataError` for a file to skip.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..audio import features as F
from ..audio.reading import probe_audio, read_audio
from .._io import die_with_parent, write_json_atomic
from ..errors import DataError, XaispecError
from .corpora import CORPORA, companion_paths, get_corpus
from .store import create_preallocated

if TYPE_CHECKING:  # annotations only: prepare imports this module
    from .prepare import PrepareConfig

# ---------------------------------------------------------------- per-sample work
#
# One function per representation reads a file once and returns everything about the
# sample (offsets, flags, checksum: the index columns) and its arrays, raising
# DataError for a file to skip.

def _embedded(path: Path, sample_id: str, cfg: PrepareConfig):
    """``(meta, the embedded 8 kHz second, the audio)``: the one offset both the AlexNet and the
    AudioNet stores use, drawn from the seed and the sample id alone, so a sample's spectrogram
    and waveform are the same second."""
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
    return meta, F.embedded_second(audio.samples, sr=audio.sr, offset=offset, mode=cfg.mode, name=str(path)), audio


def _audionet(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    meta, x, audio = _embedded(path, sample_id, cfg)
    arrays = {"x": x.astype(np.float32)}
    if has_masks(cfg.corpus):
        if meta["cropped"]:
            raise DataError(f"{path}: longer than 1 s at 8 kHz; a planted-cue clip must fit, "
                            "or its mask would not match its waveform")
        arrays["mask"] = _cue_mask(path, audio, meta["offset"], cfg.mode, waveform=True)
    return meta, arrays


def _alexnet(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    meta, x, audio = _embedded(path, sample_id, cfg)
    cropped, offset = meta["cropped"], meta["offset"]
    spectrogram = F.alexnet_spectrogram if cfg.mode == "exact" else F.alexnet_spectrogram_fast
    arrays = {"x": spectrogram(x)}
    if has_masks(cfg.corpus):
        if cropped:   # the cue would be cropped to its own loudest second, not the clip's
            raise DataError(f"{path}: longer than 1 s at 8 kHz; a planted-cue clip must fit, "
                            "or its mask would not match its spectrogram")
        arrays["mask"] = _cue_mask(path, audio, offset, cfg.mode)
    return meta, arrays


#: a cue's ground-truth cells: within this many dB of the cue's own maximum
MASK_DB = 20.0


def has_masks(corpus: str) -> bool:
    """Whether a corpus's AlexNet and AudioNet stores hold ground-truth masks (the planted-cue corpora)."""
    return corpus in CORPORA and get_corpus(corpus).kind == "cues"   # a manifest corpus has none


def cue_mask(cue: np.ndarray, *, sr: int, offset: int, mode: str = "exact") -> np.ndarray:
    """A planted cue's ground-truth mask in the AlexNet spectrogram's geometry.

    The cue alone goes through the clip's own resampling, offset and STFT; its cells
    within :data:`MASK_DB` of the cue's maximum are its real, smeared footprint.

    Parameters
    ----------
    cue : np.ndarray, shape (n,)
        The cue on its own, as stored beside the clip.
    sr : int
    offset : int
        The clip's embedding offset (the store's ``offset`` column).
    mode : {"exact", "fast"}

    Returns
    -------
    np.ndarray, shape (227, 227), uint8
        1 in the cue's cells, 0 elsewhere.
    """
    spectrogram = F.alexnet_spectrogram if mode == "exact" else F.alexnet_spectrogram_fast
    db = spectrogram(F.embedded_second(cue, sr=sr, offset=offset, mode=mode))
    return (db >= -MASK_DB).astype(np.uint8)


def cue_time_mask(cue: np.ndarray, *, sr: int, offset: int, mode: str = "exact") -> np.ndarray:
    """A planted cue's ground truth in the waveform's geometry: the samples nearest the
    spectrogram columns that hold a cell of its :func:`cue_mask`.

    A waveform has no frequency axis, so its ground truth is where in time the cue's
    footprint lies, at the spectrogram's resolution (a column every 35 samples; each sample
    belongs to the column whose centre is nearest, as in
    :func:`xaispec.audio.features.sample_columns`).

    Returns
    -------
    np.ndarray, shape (8000,), uint8
        1 on the cue's samples, 0 elsewhere.
    """
    columns = cue_mask(cue, sr=sr, offset=offset, mode=mode).any(axis=0)
    return columns[F.sample_columns()].astype(np.uint8)


def _cue_mask(path: Path, audio, offset: int, mode: str, *, waveform: bool = False) -> np.ndarray:
    """The mask of a clip's stored cue (:func:`cue_mask`, or :func:`cue_time_mask` for a
    ``waveform``); a missing, mismatched or silent cue skips the clip."""
    root = path.parents[2]   # the clip is root/clips/NN/name.wav
    cue_rel = companion_paths(path.relative_to(root).as_posix())["cue"]
    if not (root / cue_rel).is_file():
        raise DataError(f"{path}: its cue file {cue_rel} is missing, so its ground truth is unknown")
    cue = read_audio(root / cue_rel)
    if cue.sr != audio.sr or len(cue.samples) != len(audio.samples):
        raise DataError(f"{path}: its cue file {cue_rel} has {len(cue.samples)} samples at {cue.sr} Hz, "
                        f"the clip {len(audio.samples)} at {audio.sr} Hz")
    if not np.any(cue.samples):
        raise DataError(f"{path}: its cue file {cue_rel} is silent, so it has no ground-truth cells")
    return (cue_time_mask if waveform else cue_mask)(cue.samples, sr=audio.sr, offset=offset, mode=mode)


def _mel_meta(path: Path) -> dict:
    audio = probe_audio(path)
    if audio.duration <= F.MEL_OFFSET:
        raise DataError(f"{path}: {audio.duration:.2f} s, too short for the {F.MEL_OFFSET} s offset")
    return {"duration": audio.duration, "sample_rate": audio.sr, "channels": audio.channels,
            "source_sha256": audio.sha256}


def _mel_excerpt(path: Path) -> np.ndarray:
    import librosa

    # the emotion study's call, with the resampler named (the study's librosa version, and so its
    # default resampler, is unknown)
    y, _ = librosa.load(path, sr=F.MEL_SR, offset=F.MEL_OFFSET, duration=F.MEL_DURATION, res_type=F.MEL_RES_TYPE)
    return y


def _mel128(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    meta = _mel_meta(path)
    y = _mel_excerpt(path)
    noisy = F.add_noise(y, F.sample_rng(cfg.seed, sample_id))
    return meta, {"x": F.mel128(y), "x_augmented": F.mel128(noisy)}


def _mel2d(path: Path, sample_id: str, cfg: PrepareConfig) -> tuple[dict, dict]:
    meta = _mel_meta(path)
    return meta, {"x": F.mel2d(_mel_excerpt(path))}


_SAMPLE = {"alexnet": _alexnet, "audionet": _audionet, "mel128": _mel128, "mel2d": _mel2d}
#: the arrays of each representation: name -> (shape of one row, dtype)
ARRAYS = {
    "alexnet": {"x": (F.ALEXNET_SHAPE, "<f4")},
    "audionet": {"x": ((F.ALEXNET_LEN,), "<f4")},
    "mel128": {"x": ((F.MEL_BANDS,), "<f4"), "x_augmented": ((F.MEL_BANDS,), "<f4")},
    "mel2d": {"x": ((F.MEL2D_BANDS, F.MEL2D_FRAMES), "<f4")},
}


def arrays(representation: str, corpus: str) -> dict:
    """The arrays of a store: its representation's, plus the ground-truth ``mask`` (uint8, the
    shape of one input: cells of a spectrogram, samples of a waveform) in the AlexNet and
    AudioNet stores of a planted-cue corpus."""
    out = dict(ARRAYS[representation])
    if representation in ("alexnet", "audionet") and has_masks(corpus):
        out["mask"] = (ARRAYS[representation]["x"][0], "|u1")
    return out


def _write_rows(fd: int, buf: np.ndarray, at: int) -> None:
    """Write a C-contiguous array's bytes at byte ``at`` of an open file."""
    view = memoryview(buf).cast("B")
    pos = 0
    while pos < len(view):
        pos += os.pwrite(fd, view[pos:], at + pos)


_BUFFERS: dict = {}


def release_buffers() -> None:
    """Free the row buffers this process keeps between chunks."""
    _BUFFERS.clear()


def _buffer(name: str, shape: tuple, dtype: str) -> np.ndarray:
    """A chunk's rows of one array, reused from chunk to chunk (fresh memory costs page faults)."""
    key = (name, shape[1:], dtype)
    if key not in _BUFFERS or len(_BUFFERS[key]) < shape[0]:
        _BUFFERS[key] = np.empty(shape, dtype=np.dtype(dtype))
    return _BUFFERS[key][:shape[0]]


def prepare_chunk(job: tuple) -> dict:
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


def read_markers(parts: Path) -> list[dict]:
    """The finished chunks recorded in ``parts``, in row order."""
    done = [json.loads(p.read_text(encoding="utf-8")) for p in parts.glob("chunk_*.done")]
    return sorted(done, key=lambda m: m["start"])


def todo_ranges(n: int, done: list[dict], chunk_size: int, workers: int = 1) -> list[tuple[int, int]]:
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


def compact_store(src: Path, layout: dict, keep: list[int], dst: Path) -> None:
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


def warm_imports(cfg: PrepareConfig) -> None:
    """Import what the workers need once, in the parent: forked workers inherit it instead of
    each paying about a second of imports (librosa loads its submodules lazily)."""
    import scipy.fft  # noqa: F401
    import scipy.signal  # noqa: F401
    import soundfile  # noqa: F401
    import soxr  # noqa: F401

    if cfg.mode == "exact" or cfg.representation not in ("alexnet", "audionet"):
        import librosa

        librosa.resample, librosa.amplitude_to_db, librosa.load, librosa.feature.melspectrogram


def worker_pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing
    import sys

    # fork shares the parent's imported modules; elsewhere fall back to the default start method
    ctx = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_start,
                               initargs=(os.getpid(),))


def _worker_start(parent: int) -> None:
    import gc

    # the parent's objects, frozen before the fork, stay out of this process's garbage
    # collections: collecting them would write to (and so copy) every page they live on
    gc.freeze()
    # die with the process that started the pool: else it works through its queue, writing
    # the parts beside the rerun of a lost worker's task
    die_with_parent(parent)


def run_chunks(fn, jobs: list, workers: int, pool, bar, sizes: list[int]):
    """Map ``fn`` over ``jobs`` (in order), in the pool when there is one, updating ``bar``."""
    results = pool.map(fn, jobs) if pool is not None else map(fn, jobs)
    out = []
    for result, size in zip(results, sizes):
        bar.update(size)
        out.append(result)
    return out
