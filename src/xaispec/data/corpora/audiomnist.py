"""AudioMNIST: ``data/NN/{digit}_{NN}_{rep}.wav`` plus the participants' meta file."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

from ...errors import DataError
from .base import BASE_COLUMNS, Skip, finish_index, parse_sex, wav_files

__all__ = ["AUDIOMNIST_FEMALE", "index_audiomnist", "read_audiomnist_meta"]

#: the AudioMNIST study's female participants
AUDIOMNIST_FEMALE = frozenset({12, 26, 28, 36, 43, 47, 52, 56, 57, 58, 59, 60})


def read_audiomnist_meta(path: str | os.PathLike) -> pd.DataFrame:
    """The AudioMNIST meta file as a table, one row per participant.

    Tolerates the file's quirks: ages stored as int or string, the dummy age
    ``"1234"`` (read as missing), room names in mixed spellings (kept as written,
    plus a normalised ``room`` column).

    Returns
    -------
    pd.DataFrame
        Columns ``speaker`` ("01".."60"), ``sex``, ``age`` (float, NaN if unknown),
        ``accent``, ``native_speaker``, ``origin``, ``recordingroom``, ``room``.
    """
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: meta file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: expected a JSON object keyed by participant id")
    rows = []
    for key, info in sorted(meta.items()):
        info = info if isinstance(info, dict) else {}
        try:
            age = float(info.get("age"))
        except (TypeError, ValueError):
            age = float("nan")
        if age > 130:  # the dummy age 1234
            age = float("nan")
        room = str(info.get("recordingroom", ""))
        rows.append({
            "speaker": f"{int(key):02d}" if str(key).isdigit() else str(key),
            "sex": parse_sex(info.get("gender")),
            "age": age,
            "accent": info.get("accent", ""),
            "native_speaker": info.get("native speaker", ""),
            "origin": info.get("origin", ""),
            "recordingroom": room,
            "room": re.sub(r"[^a-z0-9]+", " ", room.lower()).strip(),
        })
    return pd.DataFrame(rows)


def index_audiomnist(root: str | os.PathLike) -> tuple[pd.DataFrame, list[Skip]]:
    """Index an AudioMNIST-layout corpus: ``data/NN/{digit}_{NN}_{rep}.wav`` + meta file."""
    root = Path(root)
    data = root / "data"
    meta_path = data / "audioMNIST_meta.txt"
    if not data.is_dir():
        raise DataError(f"{root}: not an AudioMNIST layout (no data/ folder)")
    meta = read_audiomnist_meta(meta_path).set_index("speaker")
    sex = meta["sex"].to_dict()
    pattern = re.compile(r"^(\d)_(\d{2})_(\d+)\.wav$", re.IGNORECASE)
    rows, skips = [], []
    for wav in wav_files(data):
        rel = wav.relative_to(root).as_posix()
        folder, _, name = rel.rpartition("/")
        folder = folder.rpartition("/")[2]
        m = pattern.match(name)
        if not m:
            skips.append(Skip(rel, "file name does not match {digit}_{NN}_{rep}.wav"))
            continue
        digit, speaker, rep = m.groups()
        if folder != speaker:
            skips.append(Skip(rel, f"participant {speaker} in the name but folder {folder!r}"))
            continue
        if speaker not in sex:
            skips.append(Skip(rel, f"participant {speaker} is missing from {meta_path.name}"))
            continue
        rows.append({"sample_id": f"{digit}_{speaker}_{int(rep)}", "path": rel, "speaker": speaker,
                     "sex": sex[speaker], "repetition": int(rep), "digit": int(digit)})
    return finish_index(rows, skips, root, BASE_COLUMNS + ("digit",))
