"""A manifest CSV: any recordings, listed with their speaker and label columns."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ...errors import DataError
from .base import BASE_COLUMNS, Skip, finish_index, parse_sex

__all__ = ["index_manifest"]


def index_manifest(csv_path: str | os.PathLike) -> tuple[pd.DataFrame, list[Skip]]:
    """Index recordings listed in a CSV: ``path`` and ``speaker`` columns, optional ``sex``,
    ``sample_id`` and ``repetition``; every other column is a label.

    Paths are relative to the CSV's folder (or absolute). Rows whose file does not exist
    are skipped.
    """
    csv_path = Path(csv_path)
    try:
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataError(f"{csv_path}: manifest not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{csv_path}: not a readable CSV ({exc})") from None
    missing = [c for c in ("path", "speaker") if c not in table.columns]
    if missing:
        raise DataError(f"{csv_path}: manifest lacks column(s) {missing} (has {list(table.columns)})")
    labels = [c for c in table.columns if c not in BASE_COLUMNS]
    if not labels:
        raise DataError(f"{csv_path}: manifest has no label column besides {list(BASE_COLUMNS)}")
    root = csv_path.parent
    rows, skips = [], []
    for i, rec in table.iterrows():
        rel = rec["path"]
        if not (root / rel).is_file():
            skips.append(Skip(rel, f"listed in {csv_path.name} line {i + 2} but not found"))
            continue
        row = {"sample_id": rec.get("sample_id") or Path(rel).stem, "path": rel,
               "speaker": rec["speaker"], "sex": parse_sex(rec.get("sex")),
               "repetition": int(rec["repetition"]) if str(rec.get("repetition", "")).isdigit() else 0}
        row.update({c: rec[c] for c in labels})
        rows.append(row)
    return finish_index(rows, skips, root, BASE_COLUMNS + tuple(labels))
