"""Planted-cue corpora: ``clips/NN/{class}_{NN}_{rep}.wav`` plus ``speakers.json``.

A planted-cue corpus (written by :func:`xaispec.data.synth.synthesize_cues`) stores each
recording three times: ``clips/`` what the models hear (speech + cue), ``speech/`` the
speech alone and ``cues/`` the cue alone, under the same ``NN/{class}_{NN}_{rep}.wav``
name. Only ``clips/`` is indexed; :func:`companion_paths` names a clip's two companions.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

from ...errors import DataError, ParameterError
from .base import BASE_COLUMNS, Skip, finish_index, parse_sex, wav_files

__all__ = ["CUE_FOLDERS", "SPEAKERS_FILE", "companion_paths", "cue_clip_path", "index_cues", "read_cue_speakers"]

#: the folder of each version of a recording: what the models hear, the speech alone, the cue alone
CUE_FOLDERS = {"clip": "clips", "speech": "speech", "cue": "cues"}
#: the speakers' file of a planted-cue corpus (``{"NN": {"gender": ..., ...}}``)
SPEAKERS_FILE = "speakers.json"

_NAME = re.compile(r"^(\d)_(\d{2})_(\d+)\.wav$", re.IGNORECASE)


def cue_clip_path(cue_class: int, speaker: int, rep: int) -> str:
    """The path of a clip, relative to the corpus root: ``clips/NN/{class}_{NN}_{rep}.wav``."""
    return f"{CUE_FOLDERS['clip']}/{speaker:02d}/{cue_class}_{speaker:02d}_{rep}.wav"


def companion_paths(rel: str) -> dict[str, str]:
    """The speech-alone and cue-alone files of a clip.

    Parameters
    ----------
    rel : str
        A clip's path relative to the corpus root, ``clips/NN/{class}_{NN}_{rep}.wav``
        (as in the index's ``path`` column).

    Returns
    -------
    dict
        ``{"speech": "speech/NN/....wav", "cue": "cues/NN/....wav"}``, relative to the root.

    Raises
    ------
    ParameterError
        When ``rel`` is not a path under ``clips/``.
    """
    parts = str(rel).replace("\\", "/").split("/")
    if len(parts) < 2 or parts[0] != CUE_FOLDERS["clip"] or not parts[-1]:
        raise ParameterError(f"{rel!r} is not a clip path clips/NN/{{class}}_{{NN}}_{{rep}}.wav")
    tail = "/".join(parts[1:])
    return {"speech": f"{CUE_FOLDERS['speech']}/{tail}", "cue": f"{CUE_FOLDERS['cue']}/{tail}"}


def read_cue_speakers(root: str | os.PathLike) -> dict[str, dict]:
    """The speakers of a planted-cue corpus, keyed by ``"NN"`` (DataError if missing or unreadable)."""
    path = Path(root) / SPEAKERS_FILE
    try:
        speakers = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: speakers file not found") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(speakers, dict):
        raise DataError(f"{path}: expected a JSON object keyed by speaker id, got {type(speakers).__name__}")
    return speakers


def index_cues(root: str | os.PathLike) -> tuple[pd.DataFrame, list[Skip]]:
    """Index a planted-cue corpus: ``clips/NN/{class}_{NN}_{rep}.wav`` + ``speakers.json``.

    Parameters
    ----------
    root : path
        The corpus folder.

    Returns
    -------
    table : pandas.DataFrame
        One row per clip, columns :data:`~.base.BASE_COLUMNS` + ``("cue",)``: ``sample_id``
        ``{class}_{NN}_{rep}``, ``path`` ``clips/NN/...``, ``speaker`` ``"NN"``, ``sex``
        from ``speakers.json``, ``repetition`` and ``cue`` (the int class).
    skips : list of Skip
        Files whose name does not match, whose folder is not their speaker's, or whose
        speaker is missing from ``speakers.json``.

    Raises
    ------
    DataError
        When ``root/clips`` is missing or ``speakers.json`` is missing or unreadable.
    """
    root = Path(root)
    clips = root / CUE_FOLDERS["clip"]
    if not clips.is_dir():
        raise DataError(f"{root}: not a planted-cue layout (no {CUE_FOLDERS['clip']}/ folder)")
    speakers = read_cue_speakers(root)
    rows, skips = [], []
    for wav in wav_files(clips):
        rel = wav.relative_to(root).as_posix()
        m = _NAME.match(wav.name)
        if not m:
            skips.append(Skip(rel, "file name does not match {class}_{NN}_{rep}.wav"))
            continue
        cue, speaker, rep = m.groups()
        if wav.parent.name != speaker:
            skips.append(Skip(rel, f"speaker {speaker} in the name but folder {wav.parent.name!r}"))
            continue
        if speaker not in speakers:
            skips.append(Skip(rel, f"speaker {speaker} is missing from {SPEAKERS_FILE}"))
            continue
        info = speakers[speaker] if isinstance(speakers[speaker], dict) else {}
        rows.append({"sample_id": f"{cue}_{speaker}_{int(rep)}", "path": rel, "speaker": speaker,
                     "sex": parse_sex(info.get("gender")), "repetition": int(rep), "cue": int(cue)})
    return finish_index(rows, skips, root, BASE_COLUMNS + ("cue",))
