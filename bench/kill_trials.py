"""Kill trials: a step killed with SIGKILL at a random moment, then run again, must end exactly
where an uninterrupted run ends.

For each kind, an uninterrupted reference run first (its duration sets the window the kills are
drawn from), then ``--trials`` trials: a fresh copy of the inputs, the step started as a process
group, killed (SIGKILL, the whole group: preparation's worker pool too) after a delay drawn
uniformly from 5% to 95% of the reference's duration (``--seed``), then the same command run to
completion. A trial that had finished chunks (prepare), an epoch's checkpoint (train), explanation files (explain) or the page's working copy (page) on disk when
killed shows the rerun resuming; one killed earlier shows it starting over cleanly. A trial is a loss if the rerun fails, its result differs from the reference, or a
temporary file (``.*.tmp*``, a ``.parts-`` folder) is left behind.

Kinds:
  prepare  ``xaispec data prepare fsdd`` on the first ``--clips`` FSDD recordings (2 workers):
           the store's bytes against the reference's;
  train    ``xaispec train`` of AlexNet (smoke settings, 2 epochs, so that a checkpoint exists to
           resume from) on FSDD takes 0-1, speaker-disjoint fold 0: the weights against the
           reference's;
  explain  ``xaispec explain`` of that AlexNet (trained once, 1 epoch) with LIME: every figure,
           audible explanation and result file against the reference's bytes;
  page     ``xaispec chapter explanations`` (the LIME page of a book built once on 60 FSDD clips,
           its page removed): the page is executed again and the book rebuilt; the executed page
           and its HTML against the reference's.

Usage::

    python bench/kill_trials.py [--kind prepare train explain page] [--trials 10] [--seed 0] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import provenance_lines, write_section  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
FSDD = PROJECT.parent / "shared" / "data" / "fsdd"
XAISPEC = str(Path(sys.executable).with_name("xaispec"))
SECTION = "## Kill trials (bench/kill_trials.py)"


def step(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(root: Path, args: list[str], *, kill_after: float | None = None) -> tuple[int | None, float]:
    """``xaispec ARGS`` with ``XAISPEC_ROOT=root``; killed (SIGKILL, whole group) after ``kill_after``
    seconds if still running. Returns (exit code, None when killed; seconds)."""
    env = {**os.environ, "XAISPEC_ROOT": str(root)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([XAISPEC, *args], cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None, time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"xaispec {' '.join(args)} failed ({proc.returncode}): {proc.stderr.read().decode()[-500:]}")
    return proc.returncode, time.perf_counter() - t0


def leftovers(root: Path) -> list[str]:
    """Temporary files or preparation parts left anywhere under ``root/data`` or ``root/book``, and
    pages left in the pages' working folder (``book/.work``)."""
    return sorted(str(p.relative_to(root)) for folder in ("data", "book") for p in (root / folder).rglob("*")
                  if ".tmp" in p.name or ".parts-" in p.name or (".work" in p.parts and p.is_file()))


# ---------------------------------------------------------------- the kinds

class Prepare:
    name = "prepare"

    def __init__(self, work: Path, clips: int):
        self.work, self.clips = work, clips
        self.args = ["data", "prepare", "fsdd", "--source", str(FSDD), "--limit", str(clips), "--workers", "2"]

    def fresh(self, root: Path) -> None:
        root.mkdir(parents=True)

    def result(self, root: Path):
        return (root / "data/processed/fsdd/alexnet.h5").read_bytes()

    def partial(self, root: Path) -> bool:
        return any((root / "data/processed/fsdd").glob(".alexnet.parts-*/chunk_*.done"))

    def describe(self) -> str:
        return f"`xaispec data prepare fsdd` on {self.clips} FSDD recordings, 2 workers"


class Train:
    name = "train"

    def __init__(self, work: Path, clips: int):
        self.work = work
        self.base = work / "train-base"
        self.args = ["train", "fsdd", "--label", "digit", "--fold", "0", "--profile", "smoke", "--epochs", "2"]
        if not (self.base / "data/runs/fsdd/splits/folds.csv").is_file():
            self._make_base()

    def _make_base(self) -> None:
        from xaispec.config import Paths
        from xaispec.data.prepare import prepare
        from xaispec.data.splits import write_splits
        from xaispec.data.store import Store

        shutil.rmtree(self.base, ignore_errors=True)
        paths = Paths(self.base)
        res = prepare("fsdd", FSDD, out_dir=paths.processed / "fsdd", progress=False)
        index = Store(res.store).index
        write_splits(index[index["repetition"] < 2], paths.run("fsdd"), labels=["digit"], n_folds=5)

    def fresh(self, root: Path) -> None:
        (root / "data/runs/fsdd").mkdir(parents=True)
        (root / "data/processed").symlink_to(self.base / "data/processed")   # the store is read only
        shutil.copytree(self.base / "data/runs/fsdd/splits", root / "data/runs/fsdd/splits")

    def result(self, root: Path):
        import keras

        model = keras.saving.load_model(root / "data/runs/fsdd/models/AlexNet_digit_0.keras", compile=False)
        return [w.tobytes() for w in model.get_weights()]

    def partial(self, root: Path) -> bool:
        return (root / "data/runs/fsdd/checkpoints/AlexNet_digit_0/state.json").is_file()

    def describe(self) -> str:
        return ("`xaispec train fsdd --label digit --fold 0 --profile smoke --epochs 2` (AlexNet, FSDD takes 0-1, "
                "speaker-disjoint fold 0)")


class Explain(Train):
    name = "explain"

    def __init__(self, work: Path, clips: int):
        super().__init__(work, clips)
        self.trained = work / "explain-base"
        self.args = ["explain", "fsdd", "--label", "digit", "--fold", "0", "--method", "lime", "--profile", "smoke"]
        if not (self.trained / "data/runs/fsdd/models/AlexNet_digit_0.keras").is_file():
            shutil.rmtree(self.trained, ignore_errors=True)
            Train.fresh(self, self.trained)
            run(self.trained, ["train", "fsdd", "--label", "digit", "--fold", "0", "--profile", "smoke"])

    def fresh(self, root: Path) -> None:
        super().fresh(root)
        shutil.copytree(self.trained / "data/runs/fsdd/models", root / "data/runs/fsdd/models")

    def outputs(self, root: Path) -> list[Path]:
        run_dir = root / "data/runs/fsdd"
        return sorted(p for folder in ("explanations", "plots/xai") if (run_dir / folder).is_dir()
                      for p in (run_dir / folder).rglob("*") if p.is_file())

    def result(self, root: Path):
        """Every output's bytes, but the seconds each map took (the study's ``runtime`` column) and when the
        run ended: two uninterrupted runs differ in nothing else (checked)."""
        import json

        import numpy as np
        import pandas as pd

        out = {}
        for p in self.outputs(root):
            key = str(p.relative_to(root))
            if p.suffix == ".csv" and p.parent.name == "explanations":
                out[key] = pd.read_csv(p).drop(columns=["runtime"], errors="ignore").to_csv(index=False)
            elif p.suffix == ".npz":
                with np.load(p, allow_pickle=True) as z:
                    out[key] = {k: z[k].tobytes() for k in z.files if k != "runtime"}
            elif p.suffix == ".json" and p.parent.name == "explanations":
                out[key] = {k: v for k, v in json.loads(p.read_text()).items() if k != "time"}
            else:
                out[key] = p.read_bytes()
        return out

    def partial(self, root: Path) -> bool:
        return bool(self.outputs(root))

    def describe(self) -> str:
        return ("`xaispec explain fsdd --label digit --fold 0 --method lime --profile smoke` (the study's LIME, 100 "
                "samples, on the examples of the AlexNet above): every figure, sound and result file")


PAGE_PROFILE = """\
name: kill-page
description: a book of one explanation page on 60 FSDD clips (bench/kill_trials.py)
splits:
  n_folds: 3
train:
  scaling: standardize
  validate_max: 40
  alexnet: {epochs: 1, batch_size: 8, learning_rate: 0.01}
evaluate: {samples: 2, steps: 4, regions: 4, road_percents: [50], subsets: 4, infidelity_draws: 2,
           sensitivity_draws: 1, mask_percents: [10], sanity_samples: 1, sanity_layers: 1}
book:
  corpus: fsdd            # digits only (the slice replaces it): no emotion corpus
  labels: [digit]
  folds: [0]
  explain_labels: [digit]
  audionet: false
  cues: []
  explainers: [lime]
  explainer_params: {alexnet: {lime: {num_samples: 30}}}
  examples_max: 2
  wrong: 1
  correct: 1
  data_examples: 1
"""


class Page:
    name = "page"
    stem = "explanations/digit_0_lime"

    def __init__(self, work: Path, clips: int):
        self.work = work
        self.base = work / "page-base"
        self.args = ["chapter", "explanations", "-p", "label", "digit", "-p", "fold", "0", "-p", "explainer", "lime"]
        if not (self.base / "_build/html/index.html").is_file():
            self._make_base()

    def _make_base(self) -> None:
        """A book built once on 6 speakers x 10 digits x 1 take of FSDD (linked in place)."""
        shutil.rmtree(self.base, ignore_errors=True)
        corpus = self.work / "fsdd-slice"
        if not corpus.is_dir():
            (corpus / "recordings").mkdir(parents=True)
            for wav in sorted((FSDD / "recordings").glob("*_0.wav")):
                (corpus / "recordings" / wav.name).symlink_to(wav)
            (corpus / "speakers.json").symlink_to(FSDD / "speakers.json")
        self.base.mkdir(parents=True)
        profile = self.work / "kill-page.yaml"
        profile.write_text(PAGE_PROFILE)
        step("page: building the book the trials start from")
        run(self.base, ["book", "--profile", str(profile), "--corpus", str(corpus)])

    def fresh(self, root: Path) -> None:
        """The built book without the page, its stamp and its HTML: only the page and the build run."""
        shutil.copytree(self.base, root, symlinks=True)
        (root / "book" / f"{self.stem}.ipynb").unlink()
        for stamp in (root / "data/runs/book/stamps").glob(f"chapter_{self.stem.replace('/', '_')}-*.json"):
            stamp.unlink()
        shutil.rmtree(root / "_build")

    def outputs(self, root: Path) -> dict[str, Path]:
        return {"page": root / "book" / f"{self.stem}.ipynb", "html": root / "_build/html/book" / f"{self.stem}.html"}

    def result(self, root: Path):
        """The executed page's cells (sources, outputs, tags) and its HTML, without what two
        uninterrupted runs may differ in (:func:`_comparable`)."""
        import json

        out = {}
        for key, p in self.outputs(root).items():
            text = p.read_text(encoding="utf-8") if p.is_file() else None
            out[key] = _comparable(text) if text is not None else None
        if out["page"] is not None:
            nb = json.loads(out["page"])
            out["page"] = [(c["cell_type"], c["source"], c.get("outputs"), c["metadata"].get("tags")) for c in nb["cells"]]
        return out

    def partial(self, root: Path) -> bool:
        """Killed with the page executing or executed (its working copy or the page on disk)."""
        return any((root / "book/.work").rglob("*.ipynb")) or self.outputs(root)["page"].is_file()

    def describe(self) -> str:
        return ("`xaispec chapter explanations -p label digit -p fold 0 -p explainer lime` (its page removed from a "
                "book built on 60 FSDD clips): the executed page and its HTML")


def _comparable(text: str) -> str:
    """``text`` without the seconds a page prints and without Sphinx's cache-busting ``?v=``
    query on asset links (a build into an existing ``_build`` adds it to mystnb's stylesheet,
    killed or not: checked with two uninterrupted builds)."""
    import re

    return re.sub(r"\?v=[0-9a-f]+\b", "", re.sub(r"\d+(\.\d+)? s\b", "N s", text))


KINDS = {"prepare": Prepare, "train": Train, "explain": Explain, "page": Page}


def trials(kind, n: int, rng: random.Random) -> dict:
    work = kind.work / kind.name
    shutil.rmtree(work, ignore_errors=True)
    ref_root = work / "reference"
    kind.fresh(ref_root)
    step(f"{kind.name}: reference run")
    _, seconds = run(ref_root, kind.args)
    reference = kind.result(ref_root)
    if isinstance(reference, dict) and any(v is None for v in reference.values()):
        raise SystemExit(f"{kind.name}: the reference run left no {', '.join(k for k, v in reference.items() if v is None)}")
    rows = []
    for i in range(n):
        root = work / f"trial{i}"
        kind.fresh(root)
        delay = rng.uniform(0.05, 0.95) * seconds
        code, _ = run(root, kind.args, kill_after=delay)
        killed = code is None
        partial = killed and kind.partial(root)   # killed with unfinished work on disk to resume from
        run(root, kind.args)
        same = kind.result(root) == reference
        left = leftovers(root)
        rows.append({"trial": i, "kill_after": delay, "killed": killed, "partial": partial, "same": same,
                     "leftovers": left})
        step(f"{kind.name} trial {i}: killed after {delay:.1f} s ({'killed' if killed else 'had finished'}"
             f"{', unfinished work on disk' if partial else ''}), "
             f"rerun {'identical' if same else 'DIFFERENT'}, {len(left)} leftovers")
        if same and not left:
            shutil.rmtree(root, ignore_errors=True)
        else:   # kept for a look, with what differs
            step(f"{kind.name} trial {i}: kept in {root}")
    return {"kind": kind, "seconds": seconds, "rows": rows}


def report(results: list[dict], date: str) -> str:
    lines = [*provenance_lines(date, ("tensorflow", "h5py")), ""]
    lines += ["| step | reference s | trials | killed mid-run | of them with work to resume | kill points (s) | "
              "identical after rerun | leftovers | losses |", "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in results:
        rows = r["rows"]
        points = ", ".join(f"{x['kill_after']:.1f}" for x in rows)
        losses = sum(not x["same"] or bool(x["leftovers"]) for x in rows)
        lines.append(f"| {r['kind'].describe()} | {r['seconds']:.1f} | {len(rows)} | {sum(x['killed'] for x in rows)} "
                     f"| {sum(x['partial'] for x in rows)} | {points} | {sum(x['same'] for x in rows)} | {sum(len(x['leftovers']) for x in rows)} "
                     f"| {losses} |")
    lines += ["", "Each trial: a fresh copy of the inputs, the step killed (SIGKILL to its process group) at a moment "
              "drawn uniformly from 5% to 95% of the reference's duration, then run again to completion. "
              "'Work to resume': finished chunks (prepare), an epoch's checkpoint (train), explanation files (explain) "
              "or the page's working copy (page) were on disk when it was "
              "killed, so the rerun resumed; the others were killed before (or, when the run was faster than the "
              "reference, after) and the rerun started over or found the work done. A loss: a rerun that fails, "
              "differs from the reference (the store's bytes; every weight; every explanation file; the executed page "
              "and its HTML) or leaves a temporary file or a page in the pages' working folder."]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", nargs="+", choices=sorted(KINDS), default=["prepare", "train"])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--clips", type=int, default=600, help="FSDD recordings the prepare trials prepare")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/xaispec-kill-trials"))
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    date = _dt.date.today().isoformat()
    results = [trials(KINDS[k](args.work, args.clips), args.trials, rng) for k in args.kind]
    text = report(results, date)
    print(text)
    if args.write_results:
        write_section(SECTION, text)
    return 0 if all(x["same"] and not x["leftovers"] for r in results for x in r["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
