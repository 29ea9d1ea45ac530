"""Benchmark: batched deletion and region-perturbation curves vs the textbook loop.

The textbook loop is how Quantus computes pixel flipping and region perturbation: per step,
the cells of that step are set to the baseline in a working copy, and the model is called
on that one copy (``model.predict(x[None], verbose=0)``, Quantus' ``TensorFlowModel.predict``).
Ours (:func:`xaispec.evaluation.deletion`, :func:`xaispec.evaluation.region_perturbation`)
builds every step's copy at once and sends them to the model in full batches through
``predict_on_batch``. Both run the same float32 AlexNet on the same spectrograms with the same
maps, alternating in every repeat; medians are reported, and the curves must agree within 1e-5.

Where the forward pass itself bounds the gain, the cap is measured in the same run: the time
per image of one-image ``model.predict`` calls against batched forward passes. The target is
>= 20x more curves per second, or >= 80% of that cap.

Model: the trained smoke AlexNet (digit, fold 0) under ``$XAISPEC_ROOT`` when it exists, else
an untrained AlexNet (timing does not depend on the weights).

Usage::

    XAISPEC_ROOT=/tmp/xp python bench/evaluate.py [--samples 4] [--steps 32] [--repeats 3] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from xaispec.quiet import filter_native_stderr

filter_native_stderr()  # TensorFlow's start-up lines stay out of the benchmark's output

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, provenance_lines, write_section  # noqa: E402
from explain import setup_alexnet  # noqa: E402

SECTION = "## Explanation metrics (bench/evaluate.py)"
TARGET, CAP_SHARE = 20.0, 0.8


def textbook_curve(model, x, ranks, counts, base, target):
    """One model call per step on a copy flipped in place, as Quantus loops."""
    xp = x.copy()
    curve = [model.predict(xp[None, ..., None], verbose=0)[0, target]]
    for lo, hi in zip(counts[:-1], counts[1:]):
        # this step's cells (or regions): ranked in [lo, hi)
        xp[(ranks >= lo) & (ranks < hi)] = base
        curve.append(model.predict(xp[None, ..., None], verbose=0)[0, target])
    return np.asarray(curve)


def textbook(model, x, maps, targets, ranks_of, counts):
    curves = []
    for i in range(len(x)):
        curves.append(textbook_curve(model, x[i], ranks_of(maps[i:i + 1])[0], counts, float(x[i].min()), targets[i]))
    return np.asarray(curves)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=4, help="spectrograms per repeat (default 4)")
    ap.add_argument("--steps", type=int, default=32, help="deletion steps and regions removed (default 32)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats, textbook and ours alternating (default 3)")
    ap.add_argument("--alexnet", type=Path, default=None, help="an AlexNet .keras file (default: the smoke run's)")
    ap.add_argument("--write-results", action="store_true", help="write the section in bench/RESULTS.md")
    args = ap.parse_args(argv)

    from xaispec.evaluation import Forward, deletion, region_perturbation
    from xaispec.evaluation.perturbation import cell_ranks, region_ranks, thresholds
    from xaispec.explain import get_explainer

    print(machine_line(), flush=True)
    models, x, source = setup_alexnet(args.alexnet)
    model = models["float32"]
    x = x[:args.samples, ..., 0]
    targets = Forward(model)(x).argmax(axis=1)
    maps = get_explainer("saliency", model).explain(x, targets).maps
    cells = x.shape[1] * x.shape[2]
    cases = {
        "deletion": (lambda: deletion(Forward(model), x, maps, targets, baseline="min", steps=args.steps),
                     lambda m: cell_ranks(m, "morf"), thresholds(cells, args.steps)),
        "region perturbation (8x8 patches, MoRF)": (
            lambda: region_perturbation(Forward(model), x, maps, targets, baseline="min", patch=8,
                                        regions=args.steps),
            lambda m: region_ranks(m, 8, "morf")[0], None),
    }
    rows = []
    for name, (ours, ranks_of, counts) in cases.items():
        if counts is None:  # regions: a cell's rank is its region's; region k removes every cell ranked below k
            counts = np.arange(args.steps + 1)
        ours()  # warm-up: traced functions, caches
        textbook(model, x[:1], maps[:1], targets[:1], ranks_of, counts[:3])
        t_ours, t_book = [], []
        for _ in range(args.repeats):
            dt, book = timed(lambda: textbook(model, x, maps, targets, ranks_of, counts))
            t_book.append(dt)
            dt, score = timed(ours)
            t_ours.append(dt)
        diff = float(np.abs(score.curves - book).max())
        rate_book, rate_ours = len(x) / statistics.median(t_book), len(x) / statistics.median(t_ours)
        rows.append((name, rate_book, rate_ours, t_book, t_ours, diff, len(counts)))
        print(f"{name}: textbook {rate_book:.2f} curves/s, ours {rate_ours:.2f} curves/s, "
              f"{rate_ours / rate_book:.1f}x; max |curve diff| {diff:.1e}", flush=True)

    # the cap: one image per model.predict call against batched forward passes of the same images
    copies = np.repeat(x[:1], 64, axis=0)
    model.predict(copies[:1, ..., None], verbose=0)
    Forward(model)(copies)
    single, batched = [], []
    for _ in range(args.repeats):
        dt, _ = timed(lambda: [model.predict(copies[i:i + 1, ..., None], verbose=0) for i in range(16)])
        single.append(dt / 16)
        dt, _ = timed(lambda: Forward(model)(copies))
        batched.append(dt / len(copies))
    cap = statistics.median(single) / statistics.median(batched)
    print(f"cap: {1e3 * statistics.median(single):.1f} ms per one-image predict, "
          f"{1e3 * statistics.median(batched):.1f} ms per image batched: {cap:.1f}x", flush=True)

    lines = [*provenance_lines(_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
                               ("python", "xaispec", "numpy", "tensorflow", "keras")), "",
             f"Target: >= {TARGET:g}x more curves per second than the textbook loop with curves equal within 1e-5, "
             f"or >= {CAP_SHARE:.0%} of the cap the forward pass sets (measured in the same run).", "",
             f"Model: {source}, float32. {len(x)} test spectrograms, saliency maps, baseline: each input's minimum "
             f"(silence); {args.repeats} repeats, textbook and ours alternating; medians.", "",
             "| metric | points per curve | textbook curves/s | ours curves/s | runs textbook (s) | runs ours (s) | "
             "ratio | share of cap | max abs curve diff | result |",
             "|---|---:|---:|---:|---|---|---:|---:|---:|---|"]
    ok = True
    for name, rb, ro, tb, to, diff, points in rows:
        ratio = ro / rb
        passed = diff <= 1e-5 and (ratio >= TARGET or ratio >= CAP_SHARE * cap)
        ok &= passed
        lines.append(f"| {name} | {points} | {rb:.2f} | {ro:.2f} | {', '.join(f'{t:.2f}' for t in tb)} | "
                     f"{', '.join(f'{t:.2f}' for t in to)} | {ratio:.1f}x | {ratio / cap:.0%} | {diff:.1e} | "
                     f"{'PASS' if passed else 'FAIL'} |")
    lines += ["", f"Cap: one-image `model.predict` {1e3 * statistics.median(single):.1f} ms per image against "
                  f"{1e3 * statistics.median(batched):.2f} ms per image in batches of 64 (`predict_on_batch`): "
                  f"{cap:.1f}x. No loop over the same forward passes can beat this ratio; ours also builds every "
                  f"step's copies at once instead of flipping cells in place."]
    print("\n".join(lines))
    if args.write_results:
        print(f"wrote {write_section(SECTION, chr(10).join(lines))}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
