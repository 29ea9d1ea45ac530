"""Benchmark: what a book costs, measured here and estimated for a CPU without native bfloat16.

Builds ``xaispec book --profile NAME`` in a fresh folder (synthetic corpora, offline), times
it, and reads the work every task counted (its stamp: images x epochs trained, rows run
forward and backward through a network). The budgets are per processor kind:

=========  =======================================  =================================
profile    without native bfloat16 (AVX2, float32)    with AMX-BF16 (bfloat16 training)
=========  =======================================  =================================
smoke      aim about 8 minutes (inside the suite's)   --
quick      30 minutes (aim: 20)                       15 minutes
=========  =======================================  =================================

The time on the other kind is estimated from the counted work: each task's time here, less
the time its work takes at the AlexNet rates measured here in the precision it ran in, plus
that work at the rates of the slow CPU (AlexNet float32 training at ``--slow-train`` images/s,
7.1 measured on a 2-core AMD EPYC with AVX2 only; inference at the same inference/training
ratio as here), the rest of its time counted ``--slow-other`` times (CPU-bound Python,
figures, espeak-ng, the book build, and the emotion CNNs, which are tiny: 1.5x by default).
Rows run backward count as two forward rows. The AlexNet rates here are measured with
``train_on_batch`` on random inputs, faster than training through the input pipeline, so
the estimate errs on the slow side.

Usage::

    python bench/book.py [--profile smoke|quick] [--root DIR] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from xaispec.quiet import filter_native_stderr

filter_native_stderr()  # TensorFlow's start-up lines stay out of the benchmark's output
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PROJECT, machine_line, provenance_lines, verdict, write_section  # noqa: E402

SECTION = "## The book (bench/book.py)"
#: minutes: (without native bfloat16, with AMX-BF16); the smoke book runs inside the test
#: suite, whose budget (40 and 20 minutes) covers it
BUDGETS = {"quick": (30.0, 15.0)}
#: minutes without native bfloat16 the books aim at, leaving room for more chapters
AIMS = {"smoke": 8.0, "quick": 20.0}
SLOW_TRAIN = 7.1  # AlexNet float32 training images/s on a 2-core AMD EPYC with AVX2 only


def step(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def build(profile: str, root: Path) -> float:
    exe = Path(sys.executable).with_name("xaispec")
    env = dict(os.environ, XAISPEC_ROOT=str(root))
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "book", "--profile", profile], cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"xaispec book --profile {profile} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def tasks(root: Path) -> list[dict]:
    out = []
    for path in sorted((root / "data/runs/book/stamps").glob("*.json")):
        data = json.loads(path.read_text())
        work = data.get("work") or {}
        out.append({"id": data["id"], "kind": data["id"].split(":", 1)[0], "seconds": float(data.get("seconds", 0)),
                    "image_epochs": int(work.get("image_epochs", 0)), "forward": int(work.get("forward", 0)),
                    "backward": int(work.get("backward", 0))})
    return out


def policies(root: Path) -> dict[str, str]:
    """Model file stem -> the precision it was trained in."""
    out = {}
    for sidecar in root.glob("data/runs/*/models/*.json"):
        if not sidecar.name.endswith(".scaling.json"):
            info = json.loads(sidecar.read_text())
            out[f"{info['label']}:{info['fold']}:{info['model']}"] = info["precision_policy"]
    return out


def rates() -> dict:
    """AlexNet images/s here: float32 always, the mixed policy where native."""
    from xaispec.models.machine import processor, throughput

    out = {"float32": throughput("float32", seconds=3.0)}
    if processor().native_bfloat16:
        out["mixed_bfloat16"] = throughput("mixed_bfloat16", seconds=3.0)
    return out


def estimate(rows: list[dict], trained: dict, here: dict, slow_train: float, other: float) -> dict:
    """Seconds of each kind of task on the slow CPU, from the work counted (see the module doc).

    Only the AlexNet's work is converted at AlexNet rates: the emotion CNNs are a few
    thousand times smaller, so their tasks are counted like the rest (``other`` x)."""
    f32 = here["float32"]
    slow = {"train": slow_train, "infer": slow_train * f32["infer"] / f32["train"]}
    per_kind: dict[str, dict] = {}
    for r in rows:
        parts = r["id"].split(":")
        model = parts[4] if r["kind"] in ("train", "evaluate", "explain", "measure") and len(parts) > 4 else None
        if model == "alexnet":
            # explanations run on a float32 copy; training and evaluation in the model's own precision
            key = ":".join(parts[2:5])
            rate = f32 if r["kind"] in ("explain", "measure") else here.get(trained.get(key, "float32"), f32)
            forward = r["forward"] + 2 * r["backward"]
            work_here = r["image_epochs"] / rate["train"] + forward / rate["infer"]
            work_slow = r["image_epochs"] / slow["train"] + forward / slow["infer"]
            seconds_slow = work_slow + other * max(0.0, r["seconds"] - work_here)
        else:
            seconds_slow = other * r["seconds"]
        name = f"{r['kind']} ({model})" if model else r["kind"]
        k = per_kind.setdefault(name, {"tasks": 0, "seconds": 0.0, "slow": 0.0, "image_epochs": 0,
                                       "forward": 0, "backward": 0})
        k["tasks"] += 1
        k["seconds"] += r["seconds"]
        k["slow"] += seconds_slow
        for w in ("image_epochs", "forward", "backward"):
            k[w] += r[w]
    return per_kind


def render(profile: str, wall: float, per_kind: dict, here: dict, native: bool, slow_train: float,
           other: float) -> str:
    slow_total = sum(k["slow"] for k in per_kind.values()) + max(0.0, wall - sum(k["seconds"] for k in per_kind.values())) * other
    budget_slow, budget_amx = BUDGETS.get(profile, (None, None))
    aim = AIMS.get(profile)
    lines = [f"`xaispec book --profile {profile}` from an empty folder (synthetic corpora, offline).", "",
             "| kind | tasks | seconds here | image-epochs | rows forward | rows backward | estimated seconds "
             "without native bfloat16 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, k in sorted(per_kind.items(), key=lambda kv: -kv[1]["slow"]):
        lines.append(f"| {kind} | {k['tasks']} | {k['seconds']:.0f} | {k['image_epochs']:,} | {k['forward']:,} | "
                     f"{k['backward']:,} | {k['slow']:.0f} |")
    total = {w: sum(k[w] for k in per_kind.values()) for w in ("image_epochs", "forward", "backward")}
    lines += [f"| **all** (wall time) | {sum(k['tasks'] for k in per_kind.values())} | {wall:.0f} | "
              f"{total['image_epochs']:,} | {total['forward']:,} | {total['backward']:,} | {slow_total:.0f} |", ""]
    rate_text = "; ".join(f"{p}: training {r['train']:.1f}, inference {r['infer']:.1f}" for p, r in here.items())
    lines += [f"AlexNet images/s measured here (batch 8): {rate_text}. The estimate takes float32 training at "
              f"{slow_train} images/s, inference at the same ratio, and the rest {other}x slower.", ""]
    minutes_here, minutes_slow = wall / 60, slow_total / 60
    if native and budget_amx:
        lines.append(f"- here (native bfloat16): {minutes_here:.1f} min, budget {budget_amx:.0f} min -> "
                     f"{verdict(budget_amx, minutes_here)}")
    elif not native and budget_slow:
        lines.append(f"- here (no native bfloat16): {minutes_here:.1f} min, budget {budget_slow:.0f} min -> "
                     f"{verdict(budget_slow, minutes_here)}")
    if budget_slow and not native:
        # this machine is itself a CPU without native bfloat16: the time measured here is the one the budget
        # speaks of; the conversion only says what the slowest such CPU seen would take
        lines.append(f"- at the slowest AlexNet rate seen on such a CPU ({slow_train} training images/s, against "
                     f"{here['float32']['train']:.1f} measured here now): {minutes_slow:.1f} min")
    elif budget_slow:
        lines.append(f"- estimated on the slow CPU: {minutes_slow:.1f} min, budget {budget_slow:.0f} min"
                     + (f" (aim {aim:.0f})" if aim else "") + f" -> {verdict(budget_slow, minutes_slow)}")
    elif aim:
        lines.append(f"- estimated on the slow CPU: {minutes_slow:.1f} min (aim about {aim:.0f} min; no budget of "
                     "its own: it runs inside the test suite's)")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="smoke", help="smoke or quick (default smoke)")
    ap.add_argument("--root", type=Path, default=None, help="build here (default: a fresh temporary folder)")
    ap.add_argument("--slow-train", type=float, default=SLOW_TRAIN, help="float32 training images/s of the slow CPU")
    ap.add_argument("--slow-other", type=float, default=1.5, help="how much slower the rest runs there")
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(PROJECT / "src"))
    from xaispec.models.machine import processor

    step(machine_line())
    root = args.root or Path(tempfile.mkdtemp(prefix=f"xaispec-book-{args.profile}-"))
    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"{root}: not empty; the benchmark builds a book from nothing")
    root.mkdir(parents=True, exist_ok=True)
    step(f"xaispec book --profile {args.profile} in {root}")
    wall = build(args.profile, root)
    step(f"built in {wall:.0f} s; measuring AlexNet throughput")
    here = rates()
    rows = tasks(root)
    per_kind = estimate(rows, policies(root), here, args.slow_train, args.slow_other)
    table = render(args.profile, wall, per_kind, here, processor().native_bfloat16 is not None, args.slow_train,
                   args.slow_other)
    print("\n" + table)
    if args.write_results:
        date = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        body = "\n".join([*provenance_lines(date, ("python", "xaispec", "tensorflow", "keras")), "", table])
        title = f"{SECTION}: {args.profile}"
        step(f"wrote {write_section(title, body)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
