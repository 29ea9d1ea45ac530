"""What every corpus index shares: the table's columns, labels, skipped files, and helpers.

An index table has one row per recording with the :data:`BASE_COLUMNS` and the label
columns of its corpus kind; files that do not fit become :class:`Skip` s. The helpers
here are used by every corpus loader.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import DataError

__all__ = ["BASE_COLUMNS", "LABELS", "Corpus", "Skip", "finish_index", "main_label", "parse_sex",
           "speakers_table", "wav_files"]


@dataclass(frozen=True)
class Skip:
    """A file left out, and why (one line)."""

    path: str
    reason: str
    stage: str = "index"

    def line(self) -> str:
        """``"<path>: <reason>"``."""
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Corpus:
    """A corpus layout: its name, kind (``digits``, ``emotions`` or ``cues``) and loader."""

    name: str
    kind: str
    layout: str
    description: str


#: the label columns a model can be trained on, per corpus kind
LABELS = {"digits": ("digit", "gender"), "emotions": ("emotion", "gender"), "cues": ("cue",)}
#: the columns every index table starts with
BASE_COLUMNS = ("sample_id", "path", "speaker", "sex", "repetition")


def main_label(columns) -> str:
    """The label an index table is grouped by: ``emotion`` in emotion corpora, else its first
    label column (``digit`` in digit corpora, a manifest's first label)."""
    columns = list(columns)
    if "emotion" in columns:
        return "emotion"
    labels = [c for c in columns if c not in BASE_COLUMNS]
    if not labels:
        raise DataError(f"an index with columns {columns} has no label column besides {list(BASE_COLUMNS)}")
    return labels[0]


def speakers_table(index: pd.DataFrame) -> pd.DataFrame:
    """Speakers with their sex and recording count, sorted by speaker id."""
    return (index.groupby(["speaker", "sex"]).size().rename("recordings").reset_index()
            .sort_values("speaker").reset_index(drop=True))


def parse_sex(value) -> str:
    """``"male"``, ``"female"`` or ``"unknown"`` from a sex or gender field as written."""
    text = str(value).strip().lower() if value is not None else ""
    if text in ("male", "m", "man"):
        return "male"
    if text in ("female", "f", "woman"):
        return "female"
    return "unknown"


def wav_files(folder: Path) -> list[Path]:
    """Every ``.wav`` file (any case) under ``folder``, sorted."""
    found, todo, seen = [], [str(folder)], {os.path.realpath(folder)}
    while todo:
        with os.scandir(todo.pop()) as entries:
            for e in entries:
                if e.is_dir():
                    if os.path.realpath(e.path) not in seen:   # a linked folder once, no loops
                        seen.add(os.path.realpath(e.path))
                        todo.append(e.path)
                elif e.name.lower().endswith(".wav") and e.is_file():
                    found.append(e.path)
    return [Path(f) for f in sorted(found)]


def finish_index(rows: list[dict], skips: list[Skip], root: Path, columns: tuple) -> tuple[pd.DataFrame, list[Skip]]:
    """Drop duplicate sample ids (keeping the first path in sorted order) and build the table."""
    seen: dict[str, str] = {}
    kept = []
    for row in sorted(rows, key=lambda r: r["path"]):
        if row["sample_id"] in seen:
            skips.append(Skip(row["path"], f"duplicate sample id {row['sample_id']!r} "
                                           f"(also {seen[row['sample_id']]})"))
            continue
        seen[row["sample_id"]] = row["path"]
        kept.append(row)
    table = pd.DataFrame(kept, columns=list(columns))
    table = table.sort_values("sample_id", kind="stable").reset_index(drop=True)
    return table, skips
