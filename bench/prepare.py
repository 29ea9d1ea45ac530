"""Benchmark: data preparation and fold loading, our code vs the AudioMNIST study's approach.

Both are timed side by side in one run on this machine (rounds alternate study, ours
exact, ours fast, so they share the machine's noise); medians are reported.

Setup (cached in ``--work``): ``--clips`` real FSDD recordings (8 kHz) upsampled to
48 kHz, 16-bit PCM, in AudioMNIST layout (FSDD's 6 speakers as participants 01..06,
clips longer than 1 s at 8 kHz replaced by the next take).

Timed:
  (a) the study: per recording ``scipy.io.wavfile.read``, ``librosa.resample(res_type="scipy")``
      to 8 kHz, random embedding in one second, ``scipy.signal.stft``, dB, one HDF5 file per
      recording; ``multiprocessing.Pool(2)``, one task per speaker folder;
  (b) ``xaispec.data.prepare.prepare(mode="exact", workers=2)``;
  (c) the same with ``mode="fast"``;
  fold loading: one training fold from the study's per-file HDF5 files vs from our store.
Before each timed run (untimed, the same for all three) its output folder is removed and
the page cache written out, so that no run pays for the disk writes of another.

Checked in the same run: (b) equals the study's steps at our stored offsets; fast vs exact
agreement in dB.

Usage::

    python bench/prepare.py [--clips 600] [--repeats 3] [--work PATH] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import glob
import json
import multiprocessing
import os
import re
import shutil
import statistics
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, provenance_lines, verdict, write_section  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
FSDD = PROJECT.parent / "shared" / "data" / "fsdd" / "recordings"
DEFAULT_WORK = Path("/tmp/xaispec-bench")  # data/bench/ is not ignored by .gitignore
SECTION = "## Data preparation (bench/prepare.py)"
TARGETS = {"exact": 1.0, "fast": 4.0, "load": 5.0}
SETUP_VERSION = 2


def step(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- setup

def make_corpus(root: Path, clips: int) -> dict:
    """AudioMNIST-layout copy of FSDD at 48 kHz; cached (a marker file holds the settings)."""
    import scipy.io.wavfile as wavf
    import soxr

    marker = root / ".bench-setup.json"
    per_cell = clips // 60
    settings = {"clips": per_cell * 60, "version": SETUP_VERSION, "source": str(FSDD)}
    if marker.is_file() and json.loads(marker.read_text()).get("settings") == settings:
        info = json.loads(marker.read_text())
        step(f"setup: reusing {info['settings']['clips']} clips in {root}")
        return info
    if per_cell < 1:
        raise SystemExit("--clips must be at least 60 (6 speakers x 10 digits)")
    if not FSDD.is_dir():
        raise SystemExit(f"{FSDD}: FSDD recordings not found")
    shutil.rmtree(root, ignore_errors=True)
    pattern = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)\.wav$")
    takes: dict[tuple[str, int], list[int]] = {}
    for p in FSDD.iterdir():
        m = pattern.match(p.name)
        if m:
            takes.setdefault((m.group(2), int(m.group(1))), []).append(int(m.group(3)))
    speakers = sorted({s for s, _ in takes})
    if len(speakers) != 6:
        raise SystemExit(f"expected FSDD's 6 speakers, found {speakers}")
    meta_src = {}
    js = FSDD.parent / "speakers.json"
    if js.is_file():
        meta_src = json.loads(js.read_text())
    data = root / "data"
    meta, replaced = {}, []
    step(f"setup: writing {settings['clips']} clips at 48 kHz into {root}")
    for i, spk in enumerate(speakers, start=1):
        nn = f"{i:02d}"
        (data / nn).mkdir(parents=True, exist_ok=True)
        info = meta_src.get(spk, {})
        meta[nn] = {"gender": "male", "age": "1234", "accent": info.get("accent", "unknown"),
                    "native speaker": "unknown", "origin": f"FSDD speaker {spk}",
                    "recordingroom": "FSDD", "fsdd_speaker": spk}
        for digit in range(10):
            kept = 0
            for take in sorted(takes[(spk, digit)]):
                if kept == per_cell:
                    break
                src = FSDD / f"{digit}_{spk}_{take}.wav"
                sr, x = wavf.read(src)
                if x.ndim > 1:
                    x = x.mean(axis=1)
                if sr != 8000 or len(x) > 8000:  # the study's code refuses clips over 1 s
                    replaced.append(src.name)
                    continue
                y = soxr.resample(x.astype(np.float32), 8000, 48000, quality="HQ")
                # real 48-kHz recordings have arbitrary lengths, not multiples of 6: drop 0-5
                # trailing samples so the study's FFT resampler sees realistic sizes
                y = y[:len(y) - (zlib.crc32(src.name.encode()) % 6)]
                y = np.clip(np.round(y), -32768, 32767).astype(np.int16)
                wavf.write(data / nn / f"{digit}_{nn}_{kept}.wav", 48000, y)
                kept += 1
            if kept < per_cell:
                raise SystemExit(f"{spk} digit {digit}: only {kept} usable takes")
    (data / "audioMNIST_meta.txt").write_text(json.dumps(meta, indent=1))
    info = {"settings": settings, "speakers": {nn: m["fsdd_speaker"] for nn, m in meta.items()},
            "skipped_long": replaced}
    marker.write_text(json.dumps(info, indent=1))
    return info


# ---------------------------------------------------------------- the study's approach

def study_embed(data: np.ndarray, offset: int | None = None) -> np.ndarray:
    """The study's embedding: random offset in one second of zeros (offset given: for checks)."""
    if len(data) > 8000:
        raise ValueError("data length cannot exceed padding length.")
    if len(data) == 8000:
        return data
    embedded = np.zeros(8000)
    if offset is None:
        offset = np.random.randint(low=0, high=8000 - len(data))
    embedded[offset:offset + len(data)] = data
    return embedded


def study_spectrogram(embedded: np.ndarray) -> np.ndarray:
    import librosa
    import scipy.signal

    _, _, z = scipy.signal.stft(embedded, 8000, nperseg=455, noverlap=420, window="hann")
    z = np.abs(z[0:227, 2:-1])
    return librosa.amplitude_to_db(z, ref=np.max)


def study_resample(data: np.ndarray, fs: int) -> np.ndarray:
    import librosa

    return librosa.core.resample(y=data.astype(np.float32), orig_sr=fs, target_sr=8000, res_type="scipy")


def study_folder(task: tuple[str, str, str]) -> int:
    """The study's per-folder worker: every recording -> one AlexNet HDF5 file."""
    import h5py
    import scipy.io.wavfile as wavf

    src, dst, src_meta = task
    meta = json.load(open(src_meta))
    os.makedirs(dst, exist_ok=True)
    n = 0
    for filepath in sorted(glob.glob(os.path.join(src, "*.wav"))):
        dig, vp, rep = os.path.basename(filepath)[:-4].split("_")
        fs, data = wavf.read(filepath)
        data = study_resample(data, fs)
        z = study_spectrogram(study_embed(data))
        with h5py.File(os.path.join(dst, f"AlexNet_{dig}_{vp}_{rep}.hdf5"), "w") as f:
            f["data"] = z[np.newaxis, np.newaxis, :, :]
            f["label"] = np.array([[int(dig), 0 if meta[vp]["gender"] == "male" else 1]])
        n += 1
    return n


def settle() -> None:
    """Before each timed run (not timed): write out what earlier runs left in the page cache,
    so no run pays for another's disk writes."""
    os.sync()


def run_study(root: Path, dst: Path) -> tuple[int, float]:
    shutil.rmtree(dst, ignore_errors=True)  # a fresh destination, as a first run (not timed)
    data = root / "data"
    folders = sorted(p.name for p in data.iterdir() if p.is_dir())
    tasks = [(str(data / f), str(dst / f), str(data / "audioMNIST_meta.txt")) for f in folders]
    settle()
    t0 = time.perf_counter()
    with multiprocessing.Pool(processes=2) as pool:
        n = sum(pool.map(study_folder, tasks))
    return n, time.perf_counter() - t0


def run_ours(root: Path, out: Path, mode: str):
    from xaispec.data.prepare import prepare

    shutil.rmtree(out, ignore_errors=True)  # a fresh destination, as for the study (not timed)
    settle()
    t0 = time.perf_counter()
    res = prepare("audiomnist", root, out_dir=out, mode=mode, workers=2, progress=False)
    return res, time.perf_counter() - t0


# ---------------------------------------------------------------- stage breakdown

def stage_breakdown(root: Path, scratch: Path) -> dict:
    """Per-file ms of each step of the study's pipeline, one process, all clips."""
    import h5py
    import scipy.io.wavfile as wavf
    import soxr

    files = sorted((root / "data").glob("*/*.wav"))
    times = {k: [] for k in ("read", "resample_scipy", "resample_soxr", "stft_db", "hdf5_write")}
    scratch.mkdir(parents=True, exist_ok=True)
    tmp = scratch / "stage.hdf5"
    fs, data = wavf.read(files[0])  # warm up: first-call imports and FFT set-up are not timed
    study_spectrogram(study_embed(study_resample(data, fs)))
    soxr.resample(data.astype(np.float32), fs, 8000, quality="HQ")
    for p in files:
        t0 = time.perf_counter()
        fs, data = wavf.read(p)
        t1 = time.perf_counter()
        y = study_resample(data, fs)
        t2 = time.perf_counter()
        soxr.resample(data.astype(np.float32), fs, 8000, quality="HQ")
        t3 = time.perf_counter()
        z = study_spectrogram(study_embed(y))
        t4 = time.perf_counter()
        with h5py.File(tmp, "w") as f:
            f["data"] = z[np.newaxis, np.newaxis]
            f["label"] = np.array([[0, 0]])
        t5 = time.perf_counter()
        for k, a, b in (("read", t0, t1), ("resample_scipy", t1, t2), ("resample_soxr", t2, t3),
                        ("stft_db", t3, t4), ("hdf5_write", t4, t5)):
            times[k].append((b - a) * 1e3)
    tmp.unlink(missing_ok=True)
    return {k: {"median_ms": statistics.median(v), "mean_ms": statistics.fmean(v), "max_ms": max(v)}
            for k, v in times.items()}


def fast_breakdown(root: Path) -> dict:
    """Per-file ms of each step of our fast mode, one process, all clips (no store writing)."""
    from xaispec.audio import features as F
    from xaispec.audio.reading import read_audio

    files = sorted((root / "data").glob("*/*.wav"))
    times = {k: [] for k in ("read", "offset", "resample", "spectrogram")}
    for i, p in enumerate([files[0], *files]):  # the first call (set-up) is not timed
        t0 = time.perf_counter()
        a = read_audio(p)
        t1 = time.perf_counter()
        rng = F.sample_rng(0, p.stem)
        t2 = time.perf_counter()
        x, _ = F.fit_clip(F.resample(a.samples, sr=a.sr, target_sr=F.ALEXNET_SR, mode="fast"))
        t3 = time.perf_counter()
        F.alexnet_spectrogram_fast(F.embed(x, offset=F.draw_offset(len(x), rng)))
        t4 = time.perf_counter()
        if i:
            for k, a_, b_ in (("read", t0, t1), ("offset", t1, t2), ("resample", t2, t3), ("spectrogram", t3, t4)):
                times[k].append((b_ - a_) * 1e3)
    return {k: {"median_ms": statistics.median(v), "mean_ms": statistics.fmean(v), "max_ms": max(v)}
            for k, v in times.items()}


# ---------------------------------------------------------------- checks

def check_exact(root: Path, store_path: Path, n: int = 20) -> dict:
    import scipy.io.wavfile as wavf
    from xaispec.data.store import Store

    s = Store(store_path)
    idx = s.index
    rows = np.linspace(0, len(idx) - 1, n).round().astype(int)
    rows = [r for r in rows if not bool(idx.loc[r, "cropped"])]
    x = s.load(rows)
    worst, identical = 0.0, 0
    for r, ours in zip(rows, x):
        fs, data = wavf.read(root / idx.loc[r, "path"])
        theirs = study_spectrogram(study_embed(study_resample(data, fs), int(idx.loc[r, "offset"])))
        worst = max(worst, float(np.max(np.abs(ours.astype(np.float64) - theirs))))
        identical += bool(np.array_equal(ours, theirs.astype(np.float32)))
    return {"files": len(rows), "max_abs_db": worst, "identical": identical}


def check_fast(exact_path: Path, fast_path: Path) -> dict:
    from xaispec.data.store import Store

    a, b = Store(exact_path), Store(fast_path)
    same_offsets = bool((a.index["offset"].to_numpy() == b.index["offset"].to_numpy()).all())
    xa, xb = a.load(), b.load()
    diff = np.abs(xa - xb)
    loud = xa > xa.max(axis=(1, 2), keepdims=True) - 40.0
    return {"same_offsets": same_offsets, "loud_cells": int(loud.sum()),
            "median_db": float(np.median(diff[loud])), "p99_db": float(np.percentile(diff[loud], 99)),
            "max_db": float(diff.max()), "max_loud_db": float(diff[loud].max())}


# ---------------------------------------------------------------- fold loading

def fold_ids(store_path: Path) -> tuple[list[str], list[str]]:
    from xaispec.data.splits import sample_splits, speaker_folds
    from xaispec.data.store import Store

    index = Store(store_path).index
    folds = speaker_folds(index, label="digit", n_folds=5)
    return sample_splits(index, folds)[0]["train"], folds[0]["train"]


def load_study(dst: Path, ids: list[str]) -> np.ndarray:
    import h5py

    out = []
    for sid in ids:
        dig, vp, rep = sid.split("_")
        with h5py.File(dst / vp / f"AlexNet_{dig}_{vp}_{rep}.hdf5", "r") as f:
            out.append(f["data"][...])
    return np.concatenate(out)


def load_ours(store_path: Path, ids: list[str]) -> np.ndarray:
    from xaispec.data.store import Store

    s = Store(store_path)  # opening the store (reading its index) is part of the timing
    return s.load(s.rows(ids))


def time_runs(fn, runs: int) -> list[float]:
    fn()  # warm the OS cache
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


# ---------------------------------------------------------------- report

def render(r: dict) -> str:
    p, L = r["prep"], r["load"]
    lines = [
        f"Clips: {r['clips']} (48 kHz, 16-bit, FSDD speech upsampled; 6 participants), "
        f"{r['repeats']} rounds alternating study / exact / fast, 2 processes each; medians.",
        "",
        "| step | files/s (median) | runs (s) | ratio ours/study | target | result |",
        "|---|---:|---|---:|---:|---|",
        f"| study: librosa scipy-resample + stft + HDF5 per file, Pool(2) | {p['study']['fps']:.1f} | "
        f"{', '.join(f'{t:.2f}' for t in p['study']['times'])} | 1.00x | | |",
    ]
    for mode in ("exact", "fast"):
        q = p[mode]
        lines.append(f"| ours, mode={mode}, workers=2 | {q['fps']:.1f} | "
                     f"{', '.join(f'{t:.2f}' for t in q['times'])} | {q['ratio']:.2f}x | "
                     f">= {TARGETS[mode]:.0f}x | {verdict(q['ratio'], TARGETS[mode])} |")
    lines += [
        f"| fold loading: study's per-file HDF5 ({L['n']} samples) | {L['study_sps']:.0f} samples/s | "
        f"{', '.join(f'{t:.3f}' for t in L['study_times'])} | 1.00x | | |",
        f"| fold loading: our store (Store + rows + load) | {L['ours_sps']:.0f} samples/s | "
        f"{', '.join(f'{t:.3f}' for t in L['ours_times'])} | {L['ratio']:.2f}x | >= {TARGETS['load']:.0f}x | "
        f"{verdict(L['ratio'], TARGETS['load'])} |",
        "",
        "Where the study's time goes (one process, all clips, per file):",
        "",
        "| step | median ms | mean ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    names = {"read": "scipy.io.wavfile.read", "resample_scipy": "librosa.resample(res_type='scipy') 48k->8k",
             "resample_soxr": "(for comparison) soxr.resample HQ 48k->8k",
             "stft_db": "embed + scipy.signal.stft + amplitude_to_db", "hdf5_write": "write one HDF5 file"}
    for k, v in r["stages"].items():
        lines.append(f"| {names[k]} | {v['median_ms']:.2f} | {v['mean_ms']:.2f} | {v['max_ms']:.2f} |")
    total = sum(v["mean_ms"] for k, v in r["stages"].items() if k != "resample_soxr")
    lines.append(f"| study's steps together (mean, excluding soxr) | | {total:.2f} | |")
    names = {"read": "read_audio (checks, sha256)", "offset": "seeded offset draw",
             "resample": "soxr HQ 48k->8k (+ crop to 1 s)", "spectrogram": "embed + float32 STFT of the clip's frames + dB"}
    lines += ["", "Where our fast mode's time goes (one process, all clips, per file; the store is written "
              "a chunk at a time, not per file):", "", "| step | median ms | mean ms | max ms |", "|---|---:|---:|---:|"]
    for k, v in r["fast_stages"].items():
        lines.append(f"| {names[k]} | {v['median_ms']:.2f} | {v['mean_ms']:.2f} | {v['max_ms']:.2f} |")
    lines.append(f"| our fast steps together (mean) | | {sum(v['mean_ms'] for v in r['fast_stages'].values()):.2f} | |")
    e, f = r["exact_check"], r["fast_check"]
    lines += [
        "",
        "Agreement:",
        "",
        f"- exact vs the study's steps at our stored offsets ({e['files']} files): max |diff| "
        f"{e['max_abs_db']:.2e} dB (expected <= 1e-5) -> {'OK' if e['max_abs_db'] <= 1e-5 else 'NOT OK'}; "
        f"identical to the study's values rounded to float32 (as stored): {e['identical']} of {e['files']}",
        f"- fast vs exact ({r['clips']} spectrograms, same offsets: {f['same_offsets']}): cells within 40 dB "
        f"of each spectrogram's maximum ({f['loud_cells']}): median |diff| {f['median_db']:.3f} dB, "
        f"99th percentile {f['p99_db']:.3f} dB, max {f['max_loud_db']:.2f} dB; max over all cells "
        f"{f['max_db']:.2f} dB",
        f"- fold: digit fold 0 train part, speakers {', '.join(L['speakers'])} "
        "(speaker_folds(label='digit', n_folds=5) + sample_splits; the study's fixed AudioMNIST folds "
        "need its 60 participants); each loader run once to warm the OS cache, then 5 timed runs; "
        "our timing includes opening the store and reading its index",
    ]
    return "\n".join(lines)


def write_results(r: dict, table: str) -> Path:
    keep = ("python", "xaispec", "numpy", "scipy", "librosa", "soxr", "h5py", "soundfile", "pandas")
    body = "\n".join([*provenance_lines(r["date"], keep), "",
                      "Targets: seed-exact >= 1.0x the study's files/s, fast >= 4x, fold loading >= 5x.", "", table])
    return write_section(SECTION, body)


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=600, help="clips (a multiple of 60; default 600)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of (study, exact, fast); default 3")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"work folder (default {DEFAULT_WORK})")
    ap.add_argument("--write-results", action="store_true", help="write the section in bench/RESULTS.md")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(PROJECT / "src"))
    work = args.work.resolve()
    root, study_dst = work / "audiomnist48k", work / "study_alexnet"
    out_exact, out_fast = work / "ours_exact", work / "ours_fast"
    setup = make_corpus(root, args.clips)
    clips = setup["settings"]["clips"]
    if setup["skipped_long"]:
        step(f"setup: {len(setup['skipped_long'])} FSDD clip(s) over 1 s replaced by the next take")

    step("stage breakdown of the study's pipeline (one process)")
    stages = stage_breakdown(root, work / "scratch")
    step("  " + ", ".join(f"{k} {v['median_ms']:.1f} ms" for k, v in stages.items()))
    fast_stages = fast_breakdown(root)
    step("  ours, fast: " + ", ".join(f"{k} {v['median_ms']:.2f} ms" for k, v in fast_stages.items()))

    times = {"study": [], "exact": [], "fast": []}
    stores = {}
    for rnd in range(1, args.repeats + 1):
        n, t = run_study(root, study_dst)
        assert n == clips, (n, clips)
        times["study"].append(t)
        step(f"round {rnd}/{args.repeats}: study {t:.1f} s ({n / t:.1f} files/s)")
        for mode, out in (("exact", out_exact), ("fast", out_fast)):
            res, t = run_ours(root, out, mode)
            assert res.n_samples == clips and not res.skipped, (res.n_samples, res.skipped[:3])
            stores[mode] = res.store
            times[mode].append(t)
            step(f"round {rnd}/{args.repeats}: ours {mode} {t:.1f} s ({clips / t:.1f} files/s)")
    prep = {}
    for k, ts in times.items():
        prep[k] = {"times": ts, "fps": clips / statistics.median(ts)}
    for mode in ("exact", "fast"):
        prep[mode]["ratio"] = prep[mode]["fps"] / prep["study"]["fps"]

    step("checks: exact vs the study's steps at stored offsets; fast vs exact")
    exact_check = check_exact(root, stores["exact"])
    fast_check = check_fast(stores["exact"], stores["fast"])

    step("fold loading")
    ids, speakers = fold_ids(stores["exact"])
    a = load_study(study_dst, ids)
    b = load_ours(stores["exact"], ids)
    assert a.shape == (len(ids), 1, 227, 227) and b.shape == (len(ids), 227, 227), (a.shape, b.shape)
    st = time_runs(lambda: load_study(study_dst, ids), 5)
    ot = time_runs(lambda: load_ours(stores["exact"], ids), 5)
    load = {"n": len(ids), "speakers": speakers, "study_times": st, "ours_times": ot,
            "study_sps": len(ids) / statistics.median(st), "ours_sps": len(ids) / statistics.median(ot)}
    load["ratio"] = load["ours_sps"] / load["study_sps"]

    r = {"date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(), "clips": clips,
         "repeats": args.repeats, "prep": prep, "stages": stages, "fast_stages": fast_stages,
         "exact_check": exact_check,
         "fast_check": fast_check, "load": load}
    table = render(r)
    print("\n" + table + "\n", flush=True)
    (work / "last_result.json").write_text(json.dumps(r, indent=1, default=str))
    if args.write_results:
        step(f"wrote {write_results(r, table)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
