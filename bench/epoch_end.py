"""Benchmark: the end of a training epoch, our input pipeline against the same one with tf.data autotuning.

Every ``fit`` and ``evaluate`` call makes a ``tf.data`` iterator and deletes it at the end. With
autotuning on (tf.data's default), a background thread re-plans the pipeline after sleeps that double
from 10 ms up to a minute, waking at 0.01 x (2^k - 1) s: 10.23, 20.47, 40.95 s ... Deleting the
iterator could wait for its next wake-up: AlexNet epochs whose batches took 23 s ended at 41.0 s.
``xaispec.models.datasets.dataset`` turns autotuning off (its prefetch depth is fixed at 2).

Both variants read the same HDF5 store of random spectrograms through the same generator, scaling
and prefetch; the baseline is that pipeline with autotuning left on (the code before the change).
Rounds alternate the variants on one AlexNet (batch 8); per epoch: the wall time of ``fit`` and the
time after its last batch ("tail"). Medians. Target: no tail above 0.5 s in ours, and our median
epoch no slower than the baseline's.

Usage::

    python bench/epoch_end.py [--rounds 6] [--images 160] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from xaispec.quiet import filter_native_stderr

filter_native_stderr()  # TensorFlow's start-up lines stay out of the benchmark's output
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, provenance_lines, write_section  # noqa: E402

SECTION = "## The end of an epoch (bench/epoch_end.py)"
TAIL_LIMIT = 0.5


def step(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=6, help="epochs per variant, alternating")
    ap.add_argument("--images", type=int, default=160, help="training images per epoch")
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args(argv)

    import h5py
    import keras
    import numpy as np

    from xaispec.models.architectures import build
    from xaispec.models.datasets import BatchReader, Part, dataset, fit_scaling

    step(machine_line())
    keras.utils.set_random_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.h5"
        rng = np.random.default_rng(0)
        with h5py.File(path, "w") as f:
            f["x"] = rng.uniform(-80, 0, (args.images, 227, 227)).astype(np.float32)
        part = Part(np.stack([np.zeros(args.images, np.int64), np.arange(args.images)], axis=1),
                    rng.integers(0, 10, args.images), [str(i) for i in range(args.images)])
        reader = BatchReader(path)
        scaling = fit_scaling(reader, part, model="alexnet", kind="standardize")
        model = build("alexnet", 10, input_shape=(227, 227, 1))
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(dataset(reader, Part(part.refs[:8], part.y[:8], part.ids[:8]), scaling, batch_size=8, seed=0),
                  epochs=1, verbose=0, shuffle=False)   # traced once, outside the timing

        class LastBatch(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                self.at = time.perf_counter()

        times = {"ours": [], "autotuned": []}
        for r in range(args.rounds):
            for name, autotune in (("ours", False), ("autotuned", True)):   # the baseline: the code before
                ds = dataset(reader, part, scaling, batch_size=8, seed=r, autotune=autotune)
                last = LastBatch()
                t0 = time.perf_counter()
                model.fit(ds, epochs=1, verbose=0, shuffle=False, callbacks=[last])
                end = time.perf_counter()
                times[name].append((end - t0, end - last.at))
                step(f"round {r + 1}/{args.rounds}: {name:9s} epoch {end - t0:5.1f} s, after its last batch "
                     f"{end - last.at:5.2f} s")
        reader.close()

    med = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    long_tails = {k: sum(t > TAIL_LIMIT for _, t in v) for k, v in times.items()}
    ratio = med["autotuned"] / med["ours"]
    ok = long_tails["ours"] == 0 and ratio >= 1.0
    lines = [f"AlexNet (float32, batch 8) on {args.images} random spectrograms read from an HDF5 store, "
             f"{args.rounds} epochs per variant alternating; the tail is the time `fit` took after its last batch.", "",
             "| pipeline | median epoch (s) | mean epoch (s) | epochs with a tail > 0.5 s | longest tail (s) |",
             "|---|---:|---:|---:|---:|"]
    for name, label in (("ours", "ours (autotuning off)"), ("autotuned", "the same, tf.data autotuning on (before)")):
        walls = [w for w, _ in times[name]]
        lines.append(f"| {label} | {med[name]:.1f} | {statistics.mean(walls):.1f} | {long_tails[name]} of "
                     f"{len(walls)} | {max(t for _, t in times[name]):.2f} |")
    lines += ["", f"Median epoch, before / ours: {ratio:.2f}. Target: no tail above {TAIL_LIMIT} s in ours and a median "
              f"no slower than before: {'PASS' if ok else 'FAIL'}.",
              "Epoch walls (s), ours: " + ", ".join(f"{w:.1f}" for w, _ in times["ours"]) +
              "; before: " + ", ".join(f"{w:.1f}" for w, _ in times["autotuned"]) + "."]
    table = "\n".join(lines)
    print("\n" + table)
    if args.write_results:
        date = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        body = "\n".join([*provenance_lines(date, ("python", "tensorflow", "keras")), "", table])
        step(f"wrote {write_section(SECTION, body)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
