"""Corpus summaries for the data chapter: counts and examples checked by hand."""
from __future__ import annotations

import pandas as pd


from conftest import INDEX


# ---------------------------------------------------------------- data: corpus summaries


def test_sex_counts_and_corpus_summary():
    from xaispec.data.corpora import Skip, corpus_summary, sex_counts

    assert sex_counts(["male", "female", "male"]) == "2 male, 1 female"
    assert sex_counts([]) == ""
    assert corpus_summary(INDEX, [Skip("a.wav", "bad")]) == {
        "recordings": 5, "speakers": 3, "sexes": "2 male, 1 female", "labels": "digit", "skipped": 1}
    emotions = pd.DataFrame({"sample_id": ["a"], "path": ["a.wav"], "speaker": ["01"], "sex": ["male"],
                             "repetition": [1], "emotion": ["calm"], "intensity": [1], "statement": [2]})
    assert corpus_summary(emotions)["labels"] == "emotion, intensity, statement"


def test_example_recordings_alternate_sex_and_label_values():
    from xaispec.data.corpora import example_recordings

    picked = example_recordings(INDEX, 4)
    # female 0, male 1, female 0 (values repeat), male 1
    assert list(picked["sample_id"]) == ["0_02_0", "1_01_0", "0_02_0", "1_01_0"]
    # no female speaker at all: the first recording stands in
    males = INDEX[INDEX["sex"] == "male"].reset_index(drop=True)
    assert list(example_recordings(males, 2)["sample_id"]) == ["0_01_0", "1_01_0"]
