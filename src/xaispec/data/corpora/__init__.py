"""Corpus loaders: each turns a corpus folder into one index table.

The index table has one row per recording and the columns

``sample_id`` (str, unique), ``path`` (str, relative to the corpus root), ``speaker`` (str),
``sex`` (``"male"``, ``"female"`` or ``"unknown"``), ``repetition`` (int), and the label
columns of the corpus kind: ``digit`` (int) for digit corpora; ``emotion`` (str),
``emotion_code``, ``intensity``, ``statement`` for emotion corpora; any label columns
of a manifest CSV.

Files that do not fit the corpus (a name that does not match its pattern, a speaker
missing from the meta file, a duplicate sample id) are not indexed: each becomes a
:class:`Skip` naming the file and the reason.
"""
from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import DataError, ParameterError

#: the AudioMNIST study's female participants
AUDIOMNIST_FEMALE = frozenset({12, 26, 28, 36, 43, 47, 52, 56, 57, 58, 59, 60})

EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
            "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}


@dataclass(frozen=True)
class Skip:
    """A file left out, and why (one line)."""

    path: str
    reason: str
    stage: str = "index"

    def line(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Corpus:
    """A corpus layout: its name, kind (``digits`` or ``emotions``) and loader."""

    name: str
    kind: str
    layout: str
    description: str


CORPORA = {
    "audiomnist": Corpus("audiomnist", "digits", "audiomnist",
                         "AudioMNIST: 60 speakers x 10 digits x 50 takes, 48 kHz"),
    "fsdd": Corpus("fsdd", "digits", "fsdd", "Free Spoken Digit Dataset: 6 speakers, 8 kHz"),
    "ravdess": Corpus("ravdess", "emotions", "ravdess", "RAVDESS speech: 24 actors, 8 emotions"),
    "synthetic-digits": Corpus("synthetic-digits", "digits", "audiomnist",
                               "espeak-ng digits in AudioMNIST layout"),
    "synthetic-emotions": Corpus("synthetic-emotions", "emotions", "ravdess",
                                 "espeak-ng emotional statements in RAVDESS layout"),
}
LABELS = {"digits": ("digit", "gender"), "emotions": ("emotion", "gender")}
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


def get_corpus(name: str) -> Corpus:
    """The :class:`Corpus` called ``name``; a CSV path gives a manifest corpus."""
    if name in CORPORA:
        return CORPORA[name]
    if str(name).endswith(".csv"):
        return Corpus(Path(name).stem, "manifest", "manifest", f"recordings listed in {name}")
    raise ParameterError(f"unknown corpus {name!r}: use one of {sorted(CORPORA)} or a manifest .csv path")


def _sex(value) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if text in ("male", "m", "man"):
        return "male"
    if text in ("female", "f", "woman"):
        return "female"
    return "unknown"


def _wavs(folder: Path) -> list[Path]:
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


def _finish(rows: list[dict], skips: list[Skip], root: Path, columns: tuple) -> tuple[pd.DataFrame, list[Skip]]:
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
            "sex": _sex(info.get("gender")),
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
    for wav in _wavs(data):
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
    return _finish(rows, skips, root, BASE_COLUMNS + ("digit",))


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
    for wav in _wavs(rec):
        rel = wav.relative_to(root).as_posix()
        m = pattern.match(wav.name)
        if not m:
            skips.append(Skip(rel, "file name does not match {digit}_{speaker}_{take}.wav"))
            continue
        digit, speaker, take = m.groups()
        if speakers and speaker not in speakers:
            skips.append(Skip(rel, f"speaker {speaker!r} is missing from the speaker metadata"))
            continue
        sex = _sex(speakers.get(speaker, {}).get("gender"))
        rows.append({"sample_id": f"{digit}_{speaker}_{int(take)}", "path": rel, "speaker": speaker,
                     "sex": sex, "repetition": int(take), "digit": int(digit)})
    return _finish(rows, skips, root, BASE_COLUMNS + ("digit",))


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
    for wav in _wavs(root):
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
    return _finish(rows, skips, root,
                   BASE_COLUMNS + ("emotion", "emotion_code", "intensity", "statement"))


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
               "speaker": rec["speaker"], "sex": _sex(rec.get("sex")),
               "repetition": int(rec["repetition"]) if str(rec.get("repetition", "")).isdigit() else 0}
        row.update({c: rec[c] for c in labels})
        rows.append(row)
    return _finish(rows, skips, root, BASE_COLUMNS + tuple(labels))


_LOADERS = {"audiomnist": index_audiomnist, "fsdd": index_fsdd, "ravdess": index_ravdess,
            "manifest": index_manifest}


def index_corpus(corpus: str, root: str | os.PathLike) -> tuple[pd.DataFrame, list[Skip]]:
    """Index ``corpus`` (a name of :data:`CORPORA` or a manifest CSV) found at ``root``.

    Returns
    -------
    table : pd.DataFrame
        One row per usable recording, sorted by ``sample_id``.
    skips : list of Skip
        Files left out, with reasons.
    """
    spec = get_corpus(corpus)
    root = Path(root)
    if spec.layout == "manifest":
        return index_manifest(root if root.suffix == ".csv" else corpus)
    if not root.is_dir():
        raise DataError(f"{root}: corpus folder of {corpus!r} not found "
                        f"(create it with 'xaispec data download {corpus}' or 'xaispec data synthesize')")
    return _LOADERS[spec.layout](root)


def speakers_table(index: pd.DataFrame) -> pd.DataFrame:
    """Speakers with their sex and recording count, sorted by speaker id."""
    return (index.groupby(["speaker", "sex"]).size().rename("recordings").reset_index()
            .sort_values("speaker").reset_index(drop=True))
