"""Speaker-disjoint splits, written as the study's text files and loadable as indices.

- Corpora with AudioMNIST participant ids ("01".."60") get the study's fixed folds:
  5 digit folds over 5 speaker groups, 4 sex-balanced gender folds over 24 speakers.
- Other corpora get ``n_folds`` speaker-disjoint groups, sex-balanced where sex is
  known, rotated like the study's digit folds (fold k tests group k-1 and validates
  group k-2, modulo the number of groups).
- Emotion corpora also get the emotion study's random 75/25 split of the original and
  noise-augmented rows (seed 0, fold ``random``). It puts copies of one recording on both
  sides and every actor in both, and is kept only to show that leakage; fold ``grouped`` is
  the same kind of random split with each recording and its copy kept on one side, so the
  two leaks can be told apart (copies: random vs grouped; speakers: grouped vs the
  actor-disjoint folds). Both draw from the index's rows sorted by sample id; the study's
  rows were in its CSV's order.

- A manifest's own label columns (e.g. ``accent``) get the same speaker-disjoint folds; a
  label each speaker has one value of (an accent, a dialect) is dealt value by value, as sex
  is for the gender label, so that every part holds every value.

Files: ``<run>/splits/{model}_{label}_{fold}_{train|validate|test}.txt`` with one sample id
a line (``{model}`` is ``CNN`` for emotion, ``AlexNet`` for every other label), plus
``folds.csv`` (speaker, sex, fold, part) describing every fold.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import write_text_atomic
from ..errors import DataError, ParameterError
from .corpora.base import BASE_COLUMNS

PARTS = ("train", "validate", "test")
#: the labels every corpus of their kind has; a manifest's other columns are labels too
KNOWN_LABELS = ("digit", "gender", "emotion", "cue")

#: the AudioMNIST study's digit groups; fold k tests G[(k+4) % 5] and validates G[(k+3) % 5]
AUDIOMNIST_DIGIT_GROUPS = (
    (28, 56, 7, 19, 35, 1, 6, 16, 23, 34, 46, 53),
    (36, 57, 9, 24, 37, 2, 8, 17, 29, 39, 48, 54),
    (43, 58, 14, 25, 38, 3, 10, 20, 30, 40, 49, 55),
    (12, 47, 59, 15, 27, 41, 4, 11, 21, 31, 44, 50),
    (26, 52, 60, 18, 32, 42, 5, 13, 22, 33, 45, 51),
)
#: the AudioMNIST study's gender folds, exactly as listed
AUDIOMNIST_GENDER_FOLDS = (
    {"train": (36, 47, 56, 26, 12, 57, 2, 44, 50, 25, 37, 45), "validate": (43, 28, 52, 48, 53, 41),
     "test": (58, 59, 60, 7, 23, 38)},
    {"train": (26, 12, 57, 43, 28, 52, 25, 37, 45, 48, 53, 41), "validate": (58, 59, 60, 7, 23, 38),
     "test": (36, 47, 56, 2, 44, 50)},
    {"train": (43, 28, 52, 58, 59, 60, 48, 53, 41, 7, 23, 38), "validate": (36, 47, 56, 2, 44, 50),
     "test": (26, 12, 57, 25, 37, 45)},
    {"train": (58, 59, 60, 36, 47, 56, 7, 23, 38, 2, 44, 50), "validate": (26, 12, 57, 25, 37, 45),
     "test": (43, 28, 52, 48, 53, 41)},
)


def model_name(label: str) -> str:
    """The model prefix of split and result files: ``AlexNet`` or ``CNN`` (emotion)."""
    return "CNN" if label == "emotion" else "AlexNet"


def rotate(groups: list[list[str]]) -> list[dict[str, list[str]]]:
    """Folds from speaker groups, the study's rotation: fold k trains on the other groups,
    validates on group k-2 and tests on group k-1 (indices modulo the group count)."""
    n = len(groups)
    if n < 3:
        raise ParameterError(f"{n} speaker group(s): at least 3 are needed for train/validate/test")
    folds = []
    for k in range(n):
        test, val = (k + n - 1) % n, (k + n - 2) % n
        train = [s for j in range(n) for s in groups[(k + j) % n] if (k + j) % n not in (test, val)]
        folds.append({"train": train, "validate": list(groups[val]), "test": list(groups[test])})
    return folds


def balanced_groups(speakers: pd.DataFrame, n_groups: int, *, seed: int = 0, by: str = "sex") -> list[list[str]]:
    """Deal speakers into ``n_groups`` groups, each value of ``by`` dealt in turn so groups stay balanced.

    Parameters
    ----------
    speakers : pd.DataFrame
        Columns ``speaker`` and ``by`` (one row per speaker).
    by : str
        The speaker property to balance: ``sex``, or a speaker-level label such as an accent.
    """
    rng = np.random.default_rng(seed)
    groups: list[list[str]] = [[] for _ in range(n_groups)]
    turn = 0
    for value in sorted(speakers[by].astype(str).unique()):
        ids = sorted(speakers.loc[speakers[by].astype(str) == value, "speaker"])
        for s in rng.permutation(ids):
            groups[turn % n_groups].append(str(s))
            turn += 1
    return [sorted(g) for g in groups]


def _is_audiomnist(speakers: pd.Series) -> bool:
    ids = set(speakers)
    needed = {f"{i:02d}" for g in AUDIOMNIST_DIGIT_GROUPS for i in g}
    return needed <= ids


def speaker_folds(index: pd.DataFrame, *, label: str, n_folds: int = 5,
                  seed: int = 0) -> list[dict[str, list[str]]]:
    """Speaker ids of every fold's train, validate and test parts.

    Parameters
    ----------
    index : pd.DataFrame
        A corpus index (``speaker`` and ``sex`` columns).
    label : str
        ``digit``, ``gender``, ``emotion``, ``cue``, or a label column of the index (a
        manifest's own, e.g. ``accent``).
    n_folds : int
        Folds of corpora without the AudioMNIST participants, and of the ``emotion``, ``cue``
        and own labels (capped at the speaker count).

    Raises
    ------
    ParameterError
        Unknown label; gender folds for a corpus without both sexes (a speaker-level label:
        fewer than 3 speakers of a value); fewer than 3 speakers.
    """
    if label not in KNOWN_LABELS:
        own = [c for c in index.columns if c not in BASE_COLUMNS]
        if label not in own:
            raise ParameterError(f"label={label!r} is not one of {list(KNOWN_LABELS)} nor a label column of "
                                 f"this corpus (its label columns: {own})")
        if index.groupby("speaker")[label].nunique().max() == 1:   # one value per speaker: deal by value
            speakers = index[["speaker", label]].drop_duplicates("speaker")
            counts = speakers[label].astype(str).value_counts()
            if counts.min() < 3:
                raise ParameterError(f"label {label!r} is a speaker's property: folds need at least 3 speakers of "
                                     f"each value; this corpus has {dict(sorted(counts.items()))}")
            # no more groups than the rarest value has speakers: every group, so every part, holds every value
            return rotate(balanced_groups(speakers, min(n_folds, int(counts.min())), seed=seed, by=label))
    speakers = index[["speaker", "sex"]].drop_duplicates("speaker")
    if _is_audiomnist(index["speaker"]) and label in ("digit", "gender"):
        if label == "digit":
            groups = [[f"{i:02d}" for i in g] for g in AUDIOMNIST_DIGIT_GROUPS]
            return rotate(groups)
        return [{p: [f"{i:02d}" for i in f[p]] for p in PARTS} for f in AUDIOMNIST_GENDER_FOLDS]
    if label == "gender":
        known = speakers[speakers["sex"].isin(["male", "female"])]
        counts = known["sex"].value_counts()
        if len(counts) < 2 or counts.min() < 3:
            raise ParameterError(
                f"gender folds need at least 3 speakers of each sex; this corpus has "
                f"{ {k: int(v) for k, v in counts.items()} or 'no known sex'}")
        speakers = known
    n = min(n_folds, len(speakers))
    if n < 3:
        raise ParameterError(f"{len(speakers)} speaker(s): speaker-disjoint folds need at least 3")
    return rotate(balanced_groups(speakers, n, seed=seed))


def fold_count(corpus: str, label: str, profile) -> int:
    """How many numbered folds ``label`` gets on ``corpus``, known before the corpus is indexed.

    AudioMNIST, and a synthetic digit corpus with AudioMNIST's 60 participants, get the
    study's folds: 5 for digit, 4 for gender. Every other corpus and label gets the
    profile's ``splits.n_folds`` (:func:`speaker_folds` gives fewer to a corpus with fewer
    speakers, which shows only once it is split). The emotion label has the random split
    besides.

    Parameters
    ----------
    corpus : str
        A corpus name (``audiomnist``, ``synthetic-digits``, ...) or a manifest path.
    label : {"digit", "gender", "emotion"}
    profile : Profile
        Its ``splits.n_folds`` and ``synthetic.digits.participants``.
    """
    study = corpus == "audiomnist" or (corpus == "synthetic-digits"
                                       and profile.get("synthetic.digits.participants") == 60)
    if study and label != "emotion":
        return len(AUDIOMNIST_DIGIT_GROUPS) if label == "digit" else len(AUDIOMNIST_GENDER_FOLDS)
    return profile.get("splits.n_folds")


def sample_splits(index: pd.DataFrame, folds: list[dict[str, list[str]]]) -> list[dict[str, list[str]]]:
    """Sample ids of every fold's parts (index order), from the speakers' folds."""
    out = []
    for fold in folds:
        out.append({p: index.loc[index["speaker"].isin(fold[p]), "sample_id"].tolist() for p in PARTS})
    return out


#: the emotion label's random splits (train and test only), beside its numbered actor-disjoint folds
PROTOCOLS = ("random", "grouped")


def grouped_split(index: pd.DataFrame, *, test_size: float = 0.25, seed: int = 0) -> dict[str, list[str]]:
    """A random split of the recordings, each with its ``#noise`` copy on the same side: the
    study's split without its copy leak (every actor is still on both sides)."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(list(index["sample_id"]), test_size=test_size, random_state=seed, shuffle=True)
    return {part: [s for r in rows for s in (r, f"{r}#noise")] for part, rows in (("train", train), ("test", test))}


def random_split(index: pd.DataFrame, *, test_size: float = 0.25, seed: int = 0) -> dict[str, list[str]]:
    """The emotion study's split of augmented rows: originals then ``#noise`` copies,
    shuffled with ``train_test_split(random_state=seed)``. Leaky by construction."""
    from sklearn.model_selection import train_test_split

    rows = list(index["sample_id"]) + [f"{s}#noise" for s in index["sample_id"]]
    train, test = train_test_split(rows, test_size=test_size, random_state=seed, shuffle=True)
    return {"train": list(train), "test": list(test)}


def split_path(run_dir: str | os.PathLike, label: str, fold: int | str, part: str) -> Path:
    """``<run>/splits/{model}_{label}_{fold}_{part}.txt``."""
    return Path(run_dir) / "splits" / f"{model_name(label)}_{label}_{fold}_{part}.txt"


def write_splits(index: pd.DataFrame, run_dir: str | os.PathLike, *, labels, n_folds: int = 5,
                 seed: int = 0) -> list[Path]:
    """Write every fold of every label in ``labels``, plus ``folds.csv``; return the files.

    Labels whose folds cannot be made (e.g. gender on an all-male corpus) raise
    ParameterError before anything is written.
    """
    run_dir = Path(run_dir)
    plans = {label: speaker_folds(index, label=label, n_folds=n_folds, seed=seed) for label in labels}
    written, rows = [], []
    sex = index.drop_duplicates("speaker").set_index("speaker")["sex"]
    for label, folds in plans.items():
        for k, (spk, ids) in enumerate(zip(folds, sample_splits(index, folds))):
            for part in PARTS:
                written.append(write_text_atomic(split_path(run_dir, label, k, part),
                                                 "".join(f"{i}\n" for i in ids[part])))
                rows += [{"label": label, "fold": k, "part": part, "speaker": s, "sex": sex.get(s, "unknown"),
                          "samples": int((index["speaker"] == s).sum())} for s in spk[part]]
        if label == "emotion":
            for name, split in (("random", random_split(index, seed=seed)), ("grouped", grouped_split(index, seed=seed))):
                for part in ("train", "test"):
                    written.append(write_text_atomic(split_path(run_dir, label, name, part),
                                                     "".join(f"{i}\n" for i in split[part])))
    written.append(write_text_atomic(run_dir / "splits" / "folds.csv",
                                     pd.DataFrame(rows).to_csv(index=False)))
    return written


def load_split(run_dir: str | os.PathLike, label: str, fold: int | str, part: str) -> list[str]:
    """Sample ids of one split file.

    Raises
    ------
    ParameterError
        Unknown part.
    DataError
        The file does not exist (names the command that creates it).
    """
    if part not in PARTS:
        raise ParameterError(f"part={part!r} is not one of {list(PARTS)}")
    path = split_path(run_dir, label, fold, part)
    if not path.is_file():
        available = sorted(p.name for p in (Path(run_dir) / "splits").glob(f"*_{label}_*_{part}.txt"))
        raise DataError(f"{path}: split not found (create it with 'xaispec data splits'; "
                        f"existing: {available or 'none'})")
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]
