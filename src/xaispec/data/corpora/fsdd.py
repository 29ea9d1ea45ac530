"""The Free Spoken Digit Dataset: ``recordings/{digit}_{speaker}_{take}.wav`` plus speaker metadata."""
from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import pandas as pd

from ...errors import DataError
from .base import BASE_COLUMNS, Skip, finish_index, parse_sex, wav_files

__all__ = ["index_fsdd", "read_fsdd_speakers"]


def read_fsdd_speakers(root: str | os.PathLike) -> dict[str, dict]:
    """Per-speaker metadata of FSDD: ``speakers.json`` or the repository's ``metadata.py``."""
    root = Path(root)
    js = root / "speakers.json"
    if js.is_file():
        try:
            return json.loads(js.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{js}: not valid JSON ({exc})") from None
    py = root / "metadata.py"
    if py.is_file():
        tree = ast.parse(py.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                return ast.literal_eval(node.value)
    return {}


def index_fsdd(root: str | os.PathLike) -> tuple[pd.DataFrame, list[Skip]]:
    """Index FSDD: ``recordings/{digit}_{speaker}_{take}.wav`` (+ per-speaker metadata)."""
    root = Path(root)
    rec = root / "recordings"
    if not rec.is_dir():
        raise DataError(f"{root}: not an FSDD layout (no recordings/ folder)")
    speakers = read_fsdd_speakers(root)
    pattern = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)\.wav$", re.IGNORECASE)
    rows, skips = [], []
    for wav in wav_files(rec):
        rel = wav.relative_to(root).as_posix()
        m = pattern.match(wav.name)
        if not m:
            skips.append(Skip(rel, "file name does not match {digit}_{speaker}_{take}.wav"))
            continue
        digit, speaker, take = m.groups()
        if speakers and speaker not in speakers:
            skips.append(Skip(rel, f"speaker {speaker!r} is missing from the speaker metadata"))
            continue
        sex = parse_sex(speakers.get(speaker, {}).get("gender"))
        rows.append({"sample_id": f"{digit}_{speaker}_{int(take)}", "path": rel, "speaker": speaker,
                     "sex": sex, "repetition": int(take), "digit": int(digit)})
    return finish_index(rows, skips, root, BASE_COLUMNS + ("digit",))
