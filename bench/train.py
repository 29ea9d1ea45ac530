"""Benchmark: training input pipeline and precision, timed side by side in one run.

1. Throughput (images/s) of one training epoch of the AlexNet on the digit task:
   (a) our input pipeline -- ``tf.data`` batches read from the HDF5 store
       (``xaispec.models.datasets.dataset``) -- against (b) Keras ``fit`` on in-memory numpy arrays
       (the fold already loaded), same model, batch size and data; in float32 and, where the
       CPU has native bfloat16 (or with ``--bfloat16``), in bfloat16 mixed precision. Rounds
       alternate the variants; medians. Target: (a)/(b) >= 0.9.
2. Accuracy after a short run: the same task trained with ``xaispec.models.train.train`` for a few
   epochs in each of those precisions, test accuracy and wall time of each.

Data: a synthetic digit corpus (espeak-ng, AudioMNIST layout) built once in ``--work``.

Usage::

    python bench/train.py [--repetitions 2] [--rounds 3] [--epochs 3] [--work PATH] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from xaispec.quiet import filter_native_stderr

filter_native_stderr()  # TensorFlow's start-up lines stay out of the benchmark's output
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PROJECT, machine_line, provenance_lines, verdict, write_section  # noqa: E402

SECTION = "## Training (bench/train.py)"
TARGET = 0.9


def step(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def setup(work: Path, repetitions: int):
    """Synthetic digits, prepared, with split files; cached in ``work``."""
    from xaispec.config import Paths
    from xaispec.data import synth
    from xaispec.data.corpora import index_corpus
    from xaispec.data.prepare import prepare
    from xaispec.data.splits import write_splits

    paths = Paths(work)
    corpus = paths.corpus("synthetic-digits")
    synth.synthesize_digits(corpus, repetitions=repetitions, progress=False)
    prepare("synthetic-digits", corpus, out_dir=paths.processed / "synthetic-digits", progress=False)
    table, _ = index_corpus("synthetic-digits", corpus)
    write_splits(table, paths.run("synthetic-digits"), labels=["digit"])
    return paths


def epoch_throughput(run, task, profile, *, policy: str, pipeline: str, images: int) -> float:
    """Images/s of training steps over ``images`` images (whole batches of the profile's size)
    after one warm-up step."""
    import keras
    import numpy as np

    from xaispec.data.store import Store
    from xaispec.models.architectures import build
    from xaispec.models.datasets import BatchReader, Part, apply_scaling, dataset, fit_scaling, load_parts
    from xaispec.models.train import compile_model, settings

    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    cfg = settings(profile, "alexnet")
    store = Store(run.store("alexnet"))
    parts = load_parts(run, task, store)
    n = min(len(parts["train"]), max(1, images // cfg["batch_size"]) * cfg["batch_size"])
    part = Part(parts["train"].refs[:n], parts["train"].y[:n], parts["train"].ids[:n])
    reader = BatchReader(store.path)
    scaling = fit_scaling(reader, part, model="alexnet", kind="standardize")
    model = compile_model(build("alexnet", 10), task, cfg, 0.01)
    warm = Part(part.refs[:cfg["batch_size"]], part.y[:cfg["batch_size"]], part.ids[:cfg["batch_size"]])
    if pipeline == "ours":
        model.fit(dataset(reader, warm, scaling, batch_size=cfg["batch_size"], seed=0), epochs=1, verbose=0)
        ds = dataset(reader, part, scaling, batch_size=cfg["batch_size"], seed=1)
        t0 = time.perf_counter()
        model.fit(ds, epochs=1, verbose=0, shuffle=False)
    else:
        x = apply_scaling(reader.read(part.refs), scaling)  # the whole fold in memory
        y = part.y
        model.fit(x[:cfg["batch_size"]], y[:cfg["batch_size"]], batch_size=cfg["batch_size"], epochs=1, verbose=0)
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=cfg["batch_size"], epochs=1, verbose=0, shuffle=True)
    seconds = time.perf_counter() - t0
    reader.close()
    keras.mixed_precision.set_global_policy("float32")
    return n / seconds


def short_run(paths, profile, *, mixed: bool, epochs: int) -> dict:
    from xaispec.models.evaluate import evaluate
    from xaispec.models.runs import Run
    from xaispec.models.train import train

    name = "bf16" if mixed else "fp32"
    run_dir = paths.runs / f"bench-{name}"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(paths.run("synthetic-digits") / "splits", run_dir / "splits")
    run = Run(run_dir, paths.processed / "synthetic-digits")
    task = run.task("digit", 0)
    p = profile.with_overrides({"train.mixed_precision": mixed})
    t0 = time.perf_counter()
    result = train(run, task, p, epochs=epochs, progress=False, force=True)
    seconds = time.perf_counter() - t0
    scores = evaluate(run, task)
    return {"policy": name, "seconds": seconds, "epochs": len(result.history),
            "val_accuracy": float(result.history["val_accuracy"].iloc[-1]), "test_accuracy": scores["accuracy"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repetitions", type=int, default=2, help="takes per digit per speaker (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the four throughput variants")
    ap.add_argument("--images", type=int, default=640, help="images timed per variant (whole batches)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs of the short accuracy runs")
    ap.add_argument("--work", type=Path, default=Path("/tmp/xaispec-bench-train"))
    ap.add_argument("--bfloat16", action="store_true", help="time bfloat16 even where the CPU only emulates it")
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(PROJECT / "src"))

    from xaispec.config import load_profile
    from xaispec.models.runs import Run

    from xaispec.models.machine import processor

    step(machine_line())
    native = processor().native_bfloat16 is not None
    policies = ("float32", "mixed_bfloat16") if native or args.bfloat16 else ("float32",)
    if not native:
        step("this CPU has no native bfloat16: bfloat16 is emulated (measured about 9x slower than float32 on "
             "an AVX2 CPU), so it is " + ("timed as asked (--bfloat16)" if args.bfloat16 else
                                          "not timed (--bfloat16 times it anyway)"))
    step(f"setup in {args.work}")
    paths = setup(args.work, args.repetitions)
    run = Run(paths.run("synthetic-digits"), paths.processed / "synthetic-digits")
    task = run.task("digit", 0)
    profile = load_profile("quick")

    variants = [(p, q) for p in policies for q in ("ours", "numpy")]
    times = {v: [] for v in variants}
    for r in range(args.rounds):
        for policy, pipeline in variants:
            ips = epoch_throughput(run, task, profile, policy=policy, pipeline=pipeline, images=args.images)
            times[(policy, pipeline)].append(ips)
            step(f"round {r + 1}/{args.rounds}: {policy:15s} {pipeline:5s} {ips:6.1f} images/s")
    med = {v: statistics.median(t) for v, t in times.items()}

    step("short runs: float32 and bfloat16")
    runs = [short_run(paths, profile, mixed=policy != "float32", epochs=args.epochs) for policy in policies]

    lines = [f"AlexNet, digit fold 0 of a synthetic corpus ({args.repetitions} takes per digit per speaker), "
             f"batch {profile.get('train.alexnet.batch_size')} (the quick profile's), {args.images} timed images "
             "per variant after one warm-up batch, "
             f"{args.rounds} rounds alternating the variants; medians.", "",
             "| precision | ours: tf.data from the store (images/s) | Keras fit on numpy in memory (images/s) "
             "| ratio | target | result |", "|---|---:|---:|---:|---:|---|"]
    for policy in policies:
        ours, base = med[(policy, "ours")], med[(policy, "numpy")]
        lines.append(f"| {policy} | {ours:.1f} | {base:.1f} | {ours / base:.2f} | >= {TARGET} | "
                     f"{verdict(ours / base, TARGET)} |")
    lines += ["", "Rounds (images/s): " + "; ".join(
        f"{policy} {pipe} " + ", ".join(f"{t:.1f}" for t in times[(policy, pipe)]) for policy, pipe in variants) + "."]
    if len(policies) == 2:
        speed = med[("mixed_bfloat16", "ours")] / med[("float32", "ours")]
        lines += ["", f"bfloat16 vs float32 throughput (our pipeline), on this processor only: {speed:.2f}x."]
    else:
        lines += ["", "bfloat16 not timed: this processor has no native bfloat16."]
    lines += ["",
              f"Short runs ({args.epochs} epochs, `xaispec.models.train.train`, quick profile settings):", "",
              "| precision | wall time (s) | validation accuracy | test accuracy |", "|---|---:|---:|---:|"]
    for r in runs:
        lines.append(f"| {r['policy']} | {r['seconds']:.0f} | {r['val_accuracy']:.3f} | {r['test_accuracy']:.3f} |")
    table = "\n".join(lines)
    print("\n" + table)
    if args.write_results:
        date = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        body = "\n".join([*provenance_lines(date, ("python", "xaispec", "tensorflow", "keras", "numpy", "h5py")),
                          "", f"Target: our input pipeline >= {TARGET}x the images/s of Keras fit on in-memory "
                          "numpy arrays.", "", table])
        step(f"wrote {write_section(SECTION, body)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
