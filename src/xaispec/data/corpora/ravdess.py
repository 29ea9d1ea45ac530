"""RAVDESS speech: ``Actor_NN/MM-VV-EE-II-SS-RR-AA.wav``, the fields coded in the file name."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from ...errors import DataError, ParameterError
from .base import BASE_COLUMNS, Skip, finish_index, wav_files

__all__ = ["EMOTIONS", "STATEMENTS", "index_ravdess", "parse_ravdess_name"]

#: RAVDESS emotion codes and names
EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
            "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}
#: RAVDESS statement codes and texts
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}


def parse_ravdess_name(name: str) -> dict:
    """Fields of a RAVDESS file name ``MM-VV-EE-II-SS-RR-AA.wav``.

    Raises
    ------
    ParameterError
        When the name has not 7 two-digit fields or a field is out of range.
    """
    m = re.match(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.wav$", name, re.IGNORECASE)
    if not m:
        raise ParameterError(f"{name}: not a RAVDESS name MM-VV-EE-II-SS-RR-AA.wav")
    modality, channel, emotion, intensity, statement, rep, actor = m.groups()
    if emotion not in EMOTIONS:
        raise ParameterError(f"{name}: emotion code {emotion} is not one of 01..08")
    if intensity not in ("01", "02") or statement not in STATEMENTS or rep not in ("01", "02") \
            or not 1 <= int(actor) <= 99:
        raise ParameterError(f"{name}: intensity, statement, repetition or actor field out of range")
    if emotion == "01" and intensity == "02":
        raise ParameterError(f"{name}: neutral has no strong intensity")
    return {"modality": modality, "vocal_channel": channel, "emotion_code": emotion,
            "emotion": EMOTIONS[emotion], "intensity": "strong" if intensity == "02" else "normal",
            "statement": int(statement), "repetition": int(rep), "actor": int(actor)}


def index_ravdess(root: str | os.PathLike) -> tuple[pd.DataFrame, list[Skip]]:
    """Index a RAVDESS-layout corpus: ``Actor_NN/MM-VV-EE-II-SS-RR-AA.wav``; sex from actor parity."""
    root = Path(root)
    if not any(p.is_dir() and p.name.startswith("Actor_") for p in root.iterdir()):
        raise DataError(f"{root}: not a RAVDESS layout (no Actor_NN folders)")
    rows, skips = [], []
    for wav in wav_files(root):
        rel = wav.relative_to(root).as_posix()
        try:
            f = parse_ravdess_name(wav.name)
        except ParameterError as exc:
            skips.append(Skip(rel, str(exc).split(": ", 1)[1]))
            continue
        speaker = f"{f['actor']:02d}"
        if wav.parent.name != f"Actor_{speaker}":
            skips.append(Skip(rel, f"actor {speaker} in the name but folder {wav.parent.name!r}"))
            continue
        rows.append({"sample_id": wav.stem, "path": rel, "speaker": speaker,
                     "sex": "male" if f["actor"] % 2 else "female", "repetition": f["repetition"],
                     "emotion": f["emotion"], "emotion_code": f["emotion_code"],
                     "intensity": f["intensity"], "statement": f["statement"]})
    return finish_index(rows, skips, root,
                   BASE_COLUMNS + ("emotion", "emotion_code", "intensity", "statement"))
