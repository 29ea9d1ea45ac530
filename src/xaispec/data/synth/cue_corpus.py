"""Writing a planted-cue corpus: each take mixed with its cue into three exact int16 files.

:func:`mix_clip` places a rendered take in the clip, sets the cue's level and quantizes
speech and cue separately, so that ``clip = speech + cue`` holds bit for bit.
:func:`fill_cues` is the filler :func:`~.corpus.build_corpus` calls for a cue corpus: it
keeps clips of an earlier run whose three files match their manifest record, writes the
others and records each clip (its cue included) in ``manifest.json``, every
:data:`CHECKPOINT` clips and at the end.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..._io import atomic_path, sha256_file, write_json_atomic
from ...errors import DataError
from ...events import EventLog
from ..corpora.cues import companion_paths
from .corpus import MANIFEST, CorpusPlan, manifest_header, read_manifest, record_paths, remove_stale_temporaries, say
from .cue_signals import cue_signal
from .render import PROCESSING, render_take
from .voices import Take

__all__ = ["CHECKPOINT", "FULL_SCALE", "ClipPlan", "fill_cues", "mix_clip", "write_int16"]

#: int16 units per unit of float audio (soundfile reads an int16 sample ``q`` as ``q / 32768``)
FULL_SCALE = 32768.0
#: new clips between two checkpoints of the manifest (a killed run redoes at most these)
CHECKPOINT = 16


@dataclass(frozen=True)
class ClipPlan:
    """One clip before it is rendered: its speech take and the draws of its random layout.

    Attributes
    ----------
    take : Take
        The spoken digit; ``take.path`` is the clip's path.
    speaker, cue_class, rep, digit : int
        Speaker id, the class (label), the repetition and the digit spoken (not the label).
    gender : str
        The speaker's gender.
    start_fraction : float
        In [0, 1): the speech starts this share of the free room into the clip.
    cue : dict
        The cue drawn (see :func:`~.cue_signals.draw_cue`), amplitude still 1.0.
    """

    take: Take
    speaker: int
    gender: str
    cue_class: int
    rep: int
    digit: int
    start_fraction: float
    cue: dict


def _rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0


def mix_clip(speech: np.ndarray, plan: ClipPlan, *, length: int, level_db: float,
             sample_rate: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Place the speech, set the cue's level, and quantize both to int16.

    Parameters
    ----------
    speech : numpy.ndarray
        Shape (n,), float in [-1, 1]: the rendered take; cut to ``length`` if longer.
    plan : ClipPlan
        The clip's draws: where the speech starts, the cue.
    length : int
        Samples of the clip.
    level_db : float
        The cue's RMS over its span relative to the speech's RMS over its span, in dB.
    sample_rate : int
        Hz.

    Returns
    -------
    speech_q, cue_q : numpy.ndarray
        int16, shape (length,): the speech alone and the cue alone; ``cue_q`` equals
        ``np.round(cue_signal(info["cue"], ...))``. When the float mix (or either part)
        would peak above ``PROCESSING["peak_limit"]``, both were scaled by ``mix_gain``.
    info : dict
        ``speech_start``, ``speech_samples``, ``mix_gain`` and the final ``cue`` (its
        ``amplitude`` in int16 units).
    """
    n = min(len(speech), length)
    start = min(int(plan.start_fraction * (length - n + 1)), length - n)
    s = np.zeros(length)
    s[start:start + n] = speech[:n]
    speech_rms = _rms(s[start:start + n])
    if speech_rms == 0:
        raise DataError(f"{plan.take.path}: the rendered speech is silent")
    unit = cue_signal({**plan.cue, "amplitude": 1.0}, sample_rate=sample_rate, length=length)
    onset, span = plan.cue["onset"], plan.cue["duration"]
    amplitude = speech_rms * 10 ** (level_db / 20) / _rms(unit[onset:onset + span])
    c = amplitude * unit
    peak = max(np.abs(s + c).max(), np.abs(s).max(), np.abs(c).max())
    gain = min(1.0, PROCESSING["peak_limit"] / peak)
    speech_q = np.round(s * (gain * FULL_SCALE)).astype(np.int16)
    cue = {**plan.cue, "amplitude": round(amplitude * gain * FULL_SCALE, 3)}
    cue_q = np.round(cue_signal(cue, sample_rate=sample_rate, length=length)).astype(np.int16)
    return speech_q, cue_q, {"speech_start": start, "speech_samples": n, "mix_gain": round(float(gain), 6),
                             "cue": cue}


def write_int16(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write int16 ``samples`` as a mono PCM_16 WAV, atomically (the values are stored exactly)."""
    import soundfile as sf

    if samples.dtype != np.int16:
        raise DataError(f"{path}: expected int16 samples, got {samples.dtype}")
    with atomic_path(path) as tmp:
        sf.write(tmp, samples, sample_rate, format="WAV", subtype="PCM_16")


def _write_clip(out_dir: Path, plan: ClipPlan, *, length: int, level_db: float, sample_rate: int) -> dict:
    """Render, mix and write one clip's three files (clip last); return its manifest record."""
    speech_q, cue_q, info = mix_clip(render_take(plan.take, sample_rate), plan, length=length,
                                     level_db=level_db, sample_rate=sample_rate)
    clip = speech_q.astype(np.int32) + cue_q
    if clip.max() > 32767 or clip.min() < -32768:   # not below the peak limit; never wrap around
        raise DataError(f"{plan.take.path}: the mix overflows int16")
    rel = plan.take.path
    companions = companion_paths(rel)
    write_int16(out_dir / companions["speech"], speech_q, sample_rate)
    write_int16(out_dir / companions["cue"], cue_q, sample_rate)
    write_int16(out_dir / rel, clip.astype(np.int16), sample_rate)
    cue = info["cue"]
    a, b = info["speech_start"], info["speech_start"] + info["speech_samples"]
    speech_rms = _rms(speech_q[a:b].astype(np.float64))
    cue_rms = _rms(cue_q[cue["onset"]:cue["onset"] + cue["duration"]].astype(np.float64))
    take = asdict(plan.take)
    take["range"] = take.pop("pitch_range")
    take["noise_seed"] = list(plan.take.noise_seed)
    for key in ("path", "text", "speaker", "labels"):
        take.pop(key)
    return {
        "path": rel, "sha256": sha256_file(out_dir / rel),
        "companions": companions,
        "companion_sha256": {k: sha256_file(out_dir / p) for k, p in companions.items()},
        "speaker": plan.speaker, "gender": plan.gender, "class": plan.cue_class, "rep": plan.rep,
        "digit": plan.digit, "text": plan.take.text,
        "speech_start": info["speech_start"], "speech_samples": info["speech_samples"],
        "mix_gain": info["mix_gain"], "speech_rms": round(speech_rms, 3), "cue_rms": round(cue_rms, 3),
        "level_db": round(20 * np.log10(cue_rms / speech_rms), 3) + 0.0 if speech_rms > 0 and cue_rms > 0 else None,
        "cue": cue, "take": take, "seconds": round(length / sample_rate, 6), "kept_from_earlier_run": False,
    }


def _intact(out_dir: Path, record: dict) -> bool:
    """Whether a record's three files exist with the hashes it gives."""
    try:
        hashes = {record["path"]: record["sha256"],
                  **{record["companions"][k]: h for k, h in record["companion_sha256"].items()}}
    except (KeyError, TypeError, AttributeError):
        return False
    return set(hashes) == set(record_paths(record)) and all(
        (out_dir / p).is_file() and sha256_file(out_dir / p) == h for p, h in hashes.items())


def _kept_records(out_dir: Path, corpus: CorpusPlan, plans: dict[str, ClipPlan]) -> dict[str, dict]:
    """Records of an earlier run of the same corpus whose clips are intact."""
    old = read_manifest(out_dir)
    if not old or old.get("kind") != corpus.kind or old.get("params") != corpus.params:
        return {}
    return {r["path"]: {**r, "kept_from_earlier_run": True} for r in old.get("files", [])
            if isinstance(r, dict) and r.get("path") in plans and _intact(out_dir, r)}


def fill_cues(out_dir: Path, corpus: CorpusPlan, *, progress: bool, log: EventLog, mode: str,
              clips: list[ClipPlan]) -> Path:
    """Write every missing clip of a cue corpus (three files each) and the manifest.

    The filler of :func:`~.corpus.build_corpus` for planted-cue corpora (bind ``clips``
    with :func:`functools.partial`). Clips are kept from an earlier run only when the
    manifest left by it records them and their three files match its hashes; any other
    clip is written again.

    Parameters
    ----------
    out_dir : pathlib.Path
        The corpus folder (or the staging folder of a rebuild).
    corpus : CorpusPlan
        Its ``params`` hold ``sample_rate``, ``clip_seconds`` and ``level_db``.
    progress : bool
        Show a progress bar.
    log : EventLog
        Where the start and end are recorded.
    mode : str
        ``fresh``, ``resume`` or ``rebuild``.
    clips : list of ClipPlan
        Every clip, in manifest order.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    sample_rate = corpus.params["sample_rate"]
    length = int(round(corpus.params["clip_seconds"] * sample_rate))
    plans = {p.take.path: p for p in clips}
    records = _kept_records(out_dir, corpus, plans) if mode == "resume" else {}
    kept = len(records)
    header = manifest_header(corpus)

    def save(complete: bool, **extra) -> None:
        files = [records[p] for p in plans if p in records]
        write_json_atomic(out_dir / MANIFEST, {**header, "complete": complete, "files": files, **extra})

    for rel, make in corpus.extra_files.items():
        write_json_atomic(out_dir / rel, make())
        header["extra_files"][rel] = sha256_file(out_dir / rel)
    save(False)
    log("synthesize_start", kind=corpus.kind, mode=mode, params=corpus.params, files=len(plans),
        existing=kept, espeak=header["espeak"])
    if mode == "resume":
        say(progress, f"finishing the {corpus.kind} corpus in {out_dir}: {kept} of {len(plans)} clips intact")
    todo = [p for p in clips if p.take.path not in records]
    with tqdm(total=len(plans), initial=kept, desc=f"synthesize {corpus.kind}", unit="clip",
              disable=not progress) as bar:
        for i, plan in enumerate(todo, 1):
            records[plan.take.path] = _write_clip(out_dir, plan, length=length, level_db=corpus.params["level_db"],
                                                  sample_rate=sample_rate)
            bar.update()
            if i % CHECKPOINT == 0 and i < len(todo):
                save(False)
    seconds = round(time.perf_counter() - started, 3)
    save(True, build_seconds=seconds)
    log("synthesize_done", kind=corpus.kind, mode=mode, files=len(plans), synthesized=len(todo), kept=kept,
        seconds=seconds)
    return out_dir
