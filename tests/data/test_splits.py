"""Splits: the study's fixed AudioMNIST folds exactly, speaker-disjoint folds elsewhere,
the leaky random split of the emotion study, files with the study's names."""
from __future__ import annotations

import pandas as pd
import pytest

from xaispec.data.corpora import index_corpus
from xaispec.data.splits import (fold_count, load_split, random_split, sample_splits,
                                 speaker_folds, split_path, write_splits)
from xaispec.errors import DataError, ParameterError

FEMALE = {12, 26, 28, 36, 43, 47, 52, 56, 57, 58, 59, 60}


def audiomnist_index(reps=2):
    rows = []
    for p in range(1, 61):
        for d in range(10):
            for r in range(reps):
                rows.append({"sample_id": f"{d}_{p:02d}_{r}", "speaker": f"{p:02d}",
                             "sex": "female" if p in FEMALE else "male", "digit": d, "repetition": r})
    return pd.DataFrame(rows)


def ids(values):
    return sorted(int(v) for v in values)


#: the study's speaker groups and folds, copied literally from its split code (as listed in
#: ``../shared/reference/seed-pipelines.md``), independent of the module's own constants
STUDY_DIGIT_GROUPS = [
    [28, 56, 7, 19, 35, 1, 6, 16, 23, 34, 46, 53],
    [36, 57, 9, 24, 37, 2, 8, 17, 29, 39, 48, 54],
    [43, 58, 14, 25, 38, 3, 10, 20, 30, 40, 49, 55],
    [12, 47, 59, 15, 27, 41, 4, 11, 21, 31, 44, 50],
    [26, 52, 60, 18, 32, 42, 5, 13, 22, 33, 45, 51],
]
#: fold k: train, validate, test as group numbers
STUDY_DIGIT_FOLDS = [((0, 1, 2), 3, 4), ((1, 2, 3), 4, 0), ((2, 3, 4), 0, 1), ((3, 4, 0), 1, 2), ((4, 0, 1), 2, 3)]
STUDY_GENDER_FOLDS = [
    {"train": [36, 47, 56, 26, 12, 57, 2, 44, 50, 25, 37, 45], "validate": [43, 28, 52, 48, 53, 41],
     "test": [58, 59, 60, 7, 23, 38]},
    {"train": [26, 12, 57, 43, 28, 52, 25, 37, 45, 48, 53, 41], "validate": [58, 59, 60, 7, 23, 38],
     "test": [36, 47, 56, 2, 44, 50]},
    {"train": [43, 28, 52, 58, 59, 60, 48, 53, 41, 7, 23, 38], "validate": [36, 47, 56, 2, 44, 50],
     "test": [26, 12, 57, 25, 37, 45]},
    {"train": [58, 59, 60, 36, 47, 56, 7, 23, 38, 2, 44, 50], "validate": [26, 12, 57, 25, 37, 45],
     "test": [43, 28, 52, 48, 53, 41]},
]


def test_audiomnist_digit_folds_are_the_studys():
    folds = speaker_folds(audiomnist_index(), label="digit")
    assert len(folds) == 5
    g = STUDY_DIGIT_GROUPS
    for k, (train, validate, test) in enumerate(STUDY_DIGIT_FOLDS):
        assert ids(folds[k]["train"]) == sorted(sum((g[i] for i in train), []))
        assert ids(folds[k]["validate"]) == sorted(g[validate]) and ids(folds[k]["test"]) == sorted(g[test])
        assert folds[k]["test"] == folds[(k + 1) % 5]["validate"]  # test of k = validation of k+1
        parts = [set(folds[k][p]) for p in ("train", "validate", "test")]
        assert sum(map(len, parts)) == 60 and len(set.union(*parts)) == 60


def test_audiomnist_gender_folds_are_the_studys_and_balanced():
    folds = speaker_folds(audiomnist_index(), label="gender")
    assert len(folds) == 4
    for fold, study in zip(folds, STUDY_GENDER_FOLDS):
        for part in ("train", "validate", "test"):
            assert ids(fold[part]) == sorted(study[part])
            sexes = [int(s) in FEMALE for s in fold[part]]
            assert sum(sexes) * 2 == len(sexes)  # half female in every part
        used = [int(s) for p in ("train", "validate", "test") for s in fold[p]]
        assert len(used) == len(set(used)) == 24


def test_other_corpora_speaker_disjoint_and_sex_balanced():
    rows = [{"sample_id": f"{s}_{k}", "speaker": s, "sex": "female" if i % 2 else "male"}
            for i, s in enumerate(f"sp{i}" for i in range(20)) for k in range(3)]
    index = pd.DataFrame(rows)
    folds = speaker_folds(index, label="gender", n_folds=5)
    assert len(folds) == 5
    for fold in folds:
        for part in ("validate", "test"):
            sexes = index.drop_duplicates("speaker").set_index("speaker").loc[fold[part], "sex"]
            assert (sexes == "female").sum() == (sexes == "male").sum() == 2
        assert not set(fold["train"]) & set(fold["test"])
    samples = sample_splits(index, folds)
    assert sum(len(samples[0][p]) for p in ("train", "validate", "test")) == 60


def test_fsdd_has_digit_folds_but_no_gender_folds(fsdd):
    table, _ = index_corpus("fsdd", fsdd)
    folds = speaker_folds(table, label="digit", n_folds=5)
    assert len(folds) == 5 and all(len(f["test"]) >= 1 for f in folds)
    with pytest.raises(ParameterError, match="gender folds need at least 3 speakers of each sex.*'male': 6"):
        speaker_folds(table, label="gender")
    with pytest.raises(ParameterError, match="label='sex'"):
        speaker_folds(table, label="sex")


def test_fold_count_is_known_before_the_corpus_is_split():
    from xaispec.config import load_profile

    profile = load_profile("smoke")
    n = profile.get("splits.n_folds")
    assert (fold_count("audiomnist", "digit", profile), fold_count("audiomnist", "gender", profile)) == (5, 4)
    assert fold_count("audiomnist", "emotion", profile) == n
    assert fold_count("fsdd", "digit", profile) == n
    sixty = profile.get("synthetic.digits.participants") == 60
    assert fold_count("synthetic-digits", "gender", profile) == (4 if sixty else n)
    full = load_profile("full")
    if full.get("synthetic.digits.participants") == 60:
        assert fold_count("synthetic-digits", "digit", full) == len(speaker_folds(audiomnist_index(1), label="digit"))


def test_random_split_reproduces_the_leak():
    index = pd.DataFrame({"sample_id": [f"r{i}" for i in range(400)], "speaker": "a", "sex": "male"})
    split = random_split(index, seed=0)
    assert len(split["test"]) == 200 and len(split["train"]) == 600
    assert split == random_split(index, seed=0)
    leaked = {s.split("#")[0] for s in split["test"]} & {s.split("#")[0] for s in split["train"]}
    assert len(leaked) > 100  # copies of one recording on both sides


def test_the_grouped_split_keeps_a_recording_and_its_copy_on_one_side():
    from xaispec.data.splits import grouped_split

    index = pd.DataFrame({"sample_id": [f"r{i}" for i in range(400)], "speaker": "a", "sex": "male"})
    split = grouped_split(index, seed=0)
    assert len(split["test"]) == 200 and len(split["train"]) == 600 and split == grouped_split(index, seed=0)
    train, test = ({s.split("#")[0] for s in split[p]} for p in ("train", "test"))
    assert not train & test and len(train | test) == 400          # no copy leak
    for part in ("train", "test"):                                 # every recording with its copy
        bases = {s.split("#")[0] for s in split[part]}
        assert sorted(split[part]) == sorted(x for r in bases for x in (r, f"{r}#noise"))


def test_files_use_the_studys_names_and_load_back(tmp_path):
    index = audiomnist_index(reps=1)
    files = write_splits(index, tmp_path, labels=["digit", "gender"])
    assert split_path(tmp_path, "digit", 4, "test").name == "AlexNet_digit_4_test.txt"
    assert len(files) == 5 * 3 + 4 * 3 + 1
    test = load_split(tmp_path, "gender", 1, "test")
    assert sorted({i.split("_")[1] for i in test}) == ["02", "36", "44", "47", "50", "56"]
    folds = pd.read_csv(tmp_path / "splits" / "folds.csv")
    assert set(folds["label"]) == {"digit", "gender"}
    with pytest.raises(DataError, match="AlexNet_gender_4_test.txt: split not found.*xaispec data splits"):
        load_split(tmp_path, "gender", 4, "test")
    with pytest.raises(ParameterError, match="part='dev'"):
        load_split(tmp_path, "gender", 0, "dev")


def test_emotion_splits_files(tmp_path):
    rows = [{"sample_id": f"03-01-0{e}-01-01-01-{a:02d}", "speaker": f"{a:02d}",
             "sex": "male" if a % 2 else "female"} for a in range(1, 25) for e in range(1, 9)]
    write_splits(pd.DataFrame(rows), tmp_path, labels=["emotion"], n_folds=4)
    assert len(load_split(tmp_path, "emotion", 0, "test")) == 6 * 8
    assert len(load_split(tmp_path, "emotion", "random", "test")) == 96


def test_the_main_label_of_an_index_table_is_named_not_positioned():
    from xaispec.data.corpora import BASE_COLUMNS, main_label
    from xaispec.errors import DataError

    assert main_label([*BASE_COLUMNS, "digit", "offset", "sha256"]) == "digit"
    assert main_label([*BASE_COLUMNS, "emotion_code", "emotion", "intensity"]) == "emotion"
    assert main_label(["path", "speaker", "accent", "sex", "sample_id", "repetition"]) == "accent"
    with pytest.raises(DataError, match="no label column"):
        main_label(BASE_COLUMNS)


def _accented(speakers_per_accent: dict[str, int]) -> pd.DataFrame:
    """An index of a manifest with its own labels: ``accent`` (one per speaker) and ``word`` (per recording)."""
    rows = []
    for accent, n in speakers_per_accent.items():
        for k in range(n):
            speaker = f"{accent}{k}"
            for word in ("yes", "no"):
                rows.append({"sample_id": f"{speaker}_{word}", "path": f"{speaker}/{word}.wav", "speaker": speaker,
                             "sex": "female" if k % 2 else "male", "repetition": 0, "accent": accent, "word": word})
    return pd.DataFrame(rows)


def test_a_manifests_own_label_gets_speaker_disjoint_folds_holding_every_value(tmp_path):
    index = _accented({"scottish": 4, "welsh": 3, "irish": 5})
    folds = speaker_folds(index, label="accent", n_folds=5)
    assert len(folds) == 3   # the rarest accent has 3 speakers: 3 groups, each with every accent
    accent = index.drop_duplicates("speaker").set_index("speaker")["accent"]
    for fold in folds:
        assert not set(fold["train"]) & set(fold["test"]) and not set(fold["validate"]) & set(fold["test"])
        for part in ("train", "validate", "test"):
            assert set(accent[fold[part]]) == {"scottish", "welsh", "irish"}, (part, fold)
    # a label that varies within a speaker: the usual sex-balanced speaker folds
    assert len(speaker_folds(index, label="word", n_folds=5)) == 5
    files = write_splits(index, tmp_path, labels=["accent"], n_folds=5)
    assert (tmp_path / "splits/AlexNet_accent_0_test.txt").is_file() and len(files) == 3 * 3 + 1
    with pytest.raises(ParameterError, match=r"label 'accent' is a speaker's property: folds need at least 3 "
                                             r"speakers of each value; this corpus has \{'irish': 5, 'welsh': 2\}"):
        speaker_folds(_accented({"welsh": 2, "irish": 5}), label="accent")
    with pytest.raises(ParameterError, match=r"label='dialect' is not one of \['digit', 'gender', 'emotion', "
                                             r"'cue'\] nor a label column of this corpus \(its label columns: "
                                             r"\['accent', 'word'\]\)"):
        speaker_folds(index, label="dialect")


def test_a_manifests_own_label_has_its_own_sorted_classes():
    from xaispec.models.runs import classes, targets

    index = _accented({"scottish": 3, "welsh": 3})
    assert classes("accent", index) == ["scottish", "welsh"]
    assert targets("accent", index).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    with pytest.raises(ParameterError, match="label='speaker' is not one of .* nor a label column"):
        classes("speaker", index)   # an index column, but not a label
