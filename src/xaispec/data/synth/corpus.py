"""Writing a corpus folder: reuse, resume or rebuild, with a manifest and an event log.

A synthesizer describes its corpus as a :class:`CorpusPlan` (parameters, speakers, takes,
extra JSON files, optionally its own way of writing the files) and hands it to
:func:`build_corpus`, which reuses a complete corpus made with the same parameters,
finishes an interrupted one, refuses one made with other parameters
(:class:`~xaispec.errors.CorpusMismatch`) or, with ``force``, builds a new one in a
sibling folder and swaps it in. ``manifest.json`` records every synthesis
parameter and the SHA-256 of every file; ``events.log`` records what happened.

By default every take becomes one file (:func:`~.render.render_take`). A plan with a
``fill`` writes its files itself (e.g. several files per take, see :mod:`.cue_corpus`);
the public helpers here (:func:`read_manifest`, :func:`manifest_header`,
:func:`record_paths`, :func:`remove_stale_temporaries`, :func:`say`) are what such a
filler shares with the default one.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ..._io import exchange, sha256_file, write_json_atomic
from ...errors import CorpusMismatch, DataError, ParameterError
from ...events import EventLog
from .espeak import get_engine
from .render import PROCESSING, render_take, write_wav
from .voices import Speaker, Take

__all__ = ["GENERATOR_VERSION", "MANIFEST", "CorpusPlan", "build_corpus", "manifest_header", "read_manifest",
           "record_paths", "remove_stale_temporaries", "say"]

logger = logging.getLogger(__name__)


#: bumped whenever a change to this package would make a stored corpus differ from a new one
GENERATOR_VERSION = 1

#: name of the manifest in a corpus folder
MANIFEST = "manifest.json"


def read_manifest(out_dir: Path) -> dict | None:
    """The manifest of ``out_dir``, or None if it has none (DataError if it is unreadable)."""
    path = out_dir / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is unreadable ({exc}); pass force=True to rebuild {out_dir}") from exc


def _differing(old: dict, new: dict) -> list[str]:
    """One line per parameter that differs between the stored and the requested corpus."""
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} (stored) != {new.get(k)!r} (requested)" for k in keys if old.get(k) != new.get(k)]


def say(progress: bool, message: str) -> None:
    """Log ``message``, and print it to stderr if ``progress``."""
    logger.info(message)
    if progress:
        print(message, file=sys.stderr)


@dataclass
class CorpusPlan:
    """What a synthesizer asks :func:`build_corpus` to produce."""

    kind: str
    params: dict                      # global parameters: they decide reuse
    speakers: dict[int, Speaker]
    takes: list[Take]
    extra_files: dict[str, Callable[[], dict]]  # relative path -> JSON content (e.g. meta)
    #: writes every missing file and the manifest, called as ``fill(out_dir, plan, progress=,
    #: log=, mode=)`` with mode ``fresh``, ``resume`` or ``rebuild``; None: one rendered take per file
    fill: Callable[..., Path] | None = None


def _filler(corpus: CorpusPlan) -> Callable[..., Path]:
    """The plan's own filler, or the default one (one rendered take per file)."""
    return corpus.fill or _fill


def build_corpus(out_dir, corpus: CorpusPlan, *, progress: bool, force: bool) -> Path:
    """Reuse, finish or (re)build the corpus in ``out_dir``; return ``out_dir``."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"out_dir {out_dir} exists and is not a folder")
    log = EventLog(out_dir)
    if force:
        if out_dir.exists() and any(out_dir.iterdir()):
            return _rebuild(out_dir, corpus, progress=progress, log=log)
        return _filler(corpus)(out_dir, corpus, progress=progress, log=log, mode="fresh")

    manifest = read_manifest(out_dir) if out_dir.exists() else None
    if manifest is not None:
        if manifest.get("kind") != corpus.kind or manifest.get("params") != corpus.params:
            diffs = _differing(manifest.get("params") or {}, corpus.params)
            if manifest.get("kind") != corpus.kind:
                diffs.insert(0, f"kind: {manifest.get('kind')!r} (stored) != {corpus.kind!r} (requested)")
            raise CorpusMismatch(
                f"{out_dir} holds a corpus made with other parameters ({'; '.join(diffs)}); "
                "pass force=True to rebuild it"
            )
        if manifest.get("complete") and _all_present(out_dir, manifest):
            say(progress, f"reusing the {corpus.kind} corpus in {out_dir} ({len(manifest['files'])} files)")
            log("synthesize_reuse", kind=corpus.kind, files=len(manifest["files"]))
            return out_dir
        return _filler(corpus)(out_dir, corpus, progress=progress, log=log, mode="resume")
    has_files = out_dir.exists() and any((out_dir / t.path).exists() for t in corpus.takes)
    mode = "resume" if has_files else "fresh"
    return _filler(corpus)(out_dir, corpus, progress=progress, log=log, mode=mode)


def record_paths(record: dict) -> list[str]:
    """Every file of a manifest record: its ``path`` and the paths of its ``companions`` (if any)."""
    return [record["path"], *record.get("companions", {}).values()]


def _all_present(out_dir: Path, manifest: dict) -> bool:
    return all((out_dir / p).is_file() for f in manifest.get("files", []) for p in record_paths(f)) and all(
        (out_dir / p).is_file() for p in manifest.get("extra_files", {})
    )


def _rebuild(out_dir: Path, corpus: CorpusPlan, *, progress: bool, log: EventLog) -> Path:
    """Build into a sibling temporary folder, then swap it in for ``out_dir``."""
    tmp = out_dir.with_name(f".{out_dir.name}.rebuild-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    log("synthesize_rebuild", kind=corpus.kind, params=corpus.params, staging=str(tmp))
    _filler(corpus)(tmp, corpus, progress=progress, log=log, mode="rebuild")
    if log.path.exists():  # keep the history of the folder
        os.replace(log.path, tmp / log.path.name)
    exchange(tmp, out_dir)   # the new corpus in, in one step; the old one now at tmp
    shutil.rmtree(tmp, ignore_errors=True)
    EventLog(out_dir)("synthesize_swapped", kind=corpus.kind)
    return out_dir


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files left by a killed run (``.name.pid.tmp``)."""
    if folder.exists():
        for tmp in folder.rglob(".*.tmp"):
            if tmp.is_file():
                tmp.unlink()


def _check_existing(path: Path, sample_rate: int) -> None:
    """Refuse a present file that is unreadable or not mono at ``sample_rate``."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises its own LibsndfileError
        raise DataError(f"{path} is not a readable WAV ({exc}); delete it or pass force=True") from exc
    if info.samplerate != sample_rate or info.channels != 1:
        raise CorpusMismatch(
            f"{path} has {info.channels} channel(s) at {info.samplerate} Hz, not mono at "
            f"sample_rate={sample_rate}; pass force=True to rebuild {path.parent}"
        )


def _duration(path: Path) -> float:
    """Length of a WAV file in seconds."""
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate


def manifest_header(corpus: CorpusPlan) -> dict:
    """The manifest's fields besides the files: kind, parameters, espeak-ng, processing, speakers.

    ``extra_files`` starts empty; the filler adds each extra file's SHA-256 when written.
    """
    engine = get_engine()
    return {
        "kind": corpus.kind,
        "params": corpus.params,
        "espeak": {"version": engine.version, "sample_rate": engine.sample_rate},
        "sample_rate": corpus.params["sample_rate"],
        "processing": PROCESSING,
        "speakers": {f"{k:02d}": {**asdict(s), "voice": s.voice} for k, s in corpus.speakers.items()},
        "extra_files": {},
    }


def _fill(out_dir: Path, corpus: CorpusPlan, *, progress: bool, log: EventLog, mode: str) -> Path:
    """Synthesize every missing file of ``corpus`` in ``out_dir`` and write the manifest."""
    from tqdm.auto import tqdm

    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    sample_rate = corpus.params["sample_rate"]
    header = manifest_header(corpus)
    existing = [t for t in corpus.takes if (out_dir / t.path).is_file()]
    for t in existing:
        _check_existing(out_dir / t.path, sample_rate)
    write_json_atomic(out_dir / MANIFEST, {**header, "complete": False, "files": []})
    log("synthesize_start", kind=corpus.kind, mode=mode, params=corpus.params, files=len(corpus.takes),
        existing=len(existing), espeak=header["espeak"])
    if mode == "resume":
        say(progress, f"finishing the {corpus.kind} corpus in {out_dir}: "
                      f"{len(existing)} of {len(corpus.takes)} files present")

    for rel, make in corpus.extra_files.items():
        write_json_atomic(out_dir / rel, make())
        header["extra_files"][rel] = sha256_file(out_dir / rel)

    present = {t.path for t in existing}
    records = []
    with tqdm(total=len(corpus.takes), initial=len(present), desc=f"synthesize {corpus.kind}",
              unit="clip", disable=not progress) as bar:
        for take in corpus.takes:
            path = out_dir / take.path
            if take.path not in present:
                y = render_take(take, sample_rate)
                write_wav(path, y, sample_rate)
                seconds = len(y) / sample_rate
                bar.update()
            else:
                seconds = _duration(path)
            records.append(_file_record(take, path, seconds, resumed=take.path in present))

    manifest = {**header, "complete": True, "files": records,
                "build_seconds": round(time.perf_counter() - started, 3)}
    write_json_atomic(out_dir / MANIFEST, manifest)
    log("synthesize_done", kind=corpus.kind, mode=mode, files=len(records),
        synthesized=len(records) - len(present), kept=len(present), seconds=manifest["build_seconds"])
    return out_dir


def _file_record(take: Take, path: Path, seconds: float, *, resumed: bool) -> dict:
    """A file's entry in the manifest: its take, hash and duration."""
    record = asdict(take)
    record["range"] = record.pop("pitch_range")
    record["noise_seed"] = list(take.noise_seed)
    record.update(sha256=sha256_file(path), seconds=round(seconds, 4), kept_from_earlier_run=resumed)
    return record
