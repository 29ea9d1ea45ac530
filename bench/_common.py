"""Helpers shared by the benchmarks: machine facts and writing a section of RESULTS.md."""
from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "RESULTS.md"
HEADER = ("# Benchmarks\n\nBenchmarks: our code and a baseline timed side by side in one run on this "
          "machine; medians; rerun with `python bench/<name>.py --write-results`.\n")


def machine() -> dict:
    """CPU count, model name, the features that decide the precision, and ``auto``'s choice
    (without probing): a ratio measured on one kind of processor is not quoted for another."""
    from xaispec.models.machine import decide_precision, processor

    cpu = processor()
    feats = ", ".join(name.upper().replace("_", "-") for name, on in cpu.features.items() if on) or "none of note"
    policy = decide_precision("auto", cpu=cpu, gpus=[], probe=None).policy
    return {"nproc": cpu.cores, "cpu": cpu.model, "features": feats, "auto": policy}


def machine_line() -> str:
    """One line naming the processor a table was measured on."""
    m = machine()
    return (f"Processor: {m['cpu']}, {m['nproc']} core(s); features {m['features']}; "
            f"`train.mixed_precision: auto` picks {m['auto']} here.")


def verdict(value: float, target: float) -> str:
    return "PASS" if value >= target else "FAIL"


def provenance_lines(date: str, keep: tuple) -> list[str]:
    """'Run <date> on <machine>; git commit ...' and the versions of ``keep``."""
    from xaispec.provenance import git_commit, versions

    m, v = machine(), versions()
    return [f"Run {date} on {m['nproc']} CPU(s), {m['cpu']}; git commit {git_commit(PROJECT)}.", machine_line(),
            "Versions: " + ", ".join(f"{k} {v.get(k, '?')}" for k in keep) + "."]


def write_section(title: str, body: str) -> Path:
    """Replace (or append) the section ``title`` of bench/RESULTS.md with ``body``."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else HEADER
    section = f"{title}\n\n{body.strip()}\n"
    pattern = re.compile(r"^" + re.escape(title) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = RESULTS.with_name(".RESULTS.md.tmp")
    tmp.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS)
    return RESULTS
