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
    """CPU count and model name."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model}


def verdict(value: float, target: float) -> str:
    return "PASS" if value >= target else "FAIL"


def provenance_lines(date: str, keep: tuple) -> list[str]:
    """'Run <date> on <machine>; git commit ...' and the versions of ``keep``."""
    from xaispec.provenance import git_commit, versions

    m, v = machine(), versions()
    return [f"Run {date} on {m['nproc']} CPU(s), {m['cpu']}; git commit {git_commit(PROJECT)}.",
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
