"""The evaluation's tables over folds (models/evaluate.py): hand-made evaluation files, values checked by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from xaispec.errors import DataError
from xaispec.models.runs import ModelSpec, Run


def write_scores(run: Run, fold, accuracy: float, test_samples: int, f1: float, model: str = "cnn1d"):
    path = run.evaluation_path(ModelSpec("emotion", fold, model))
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"model": "m", "test_samples": test_samples, "accuracy": accuracy, "balanced_accuracy": accuracy / 2,
                   "f1_weighted": f1}]).to_csv(path, index=False)


@pytest.fixture
def run(tmp_path):
    run = Run(tmp_path / "run", tmp_path / "processed")
    write_scores(run, "random", 0.8, 40, 0.7)
    write_scores(run, 0, 0.2, 10, 0.1)
    write_scores(run, 1, 0.4, 14, 0.3)
    return run


def test_fold_scores_average_the_folds_and_sum_their_test_rows(run):
    from xaispec.models.evaluate import fold_scores

    scores = fold_scores(run, "emotion", "cnn1d", [0, 1])
    assert scores["folds"] == 2 and scores["test_samples"] == 24 and type(scores["test_samples"]) is int
    assert scores["accuracy"] == pytest.approx(0.3) and scores["balanced_accuracy"] == pytest.approx(0.15)
    assert scores["f1_weighted"] == pytest.approx(0.2)
    with pytest.raises(DataError, match="fold 2"):
        fold_scores(run, "emotion", "cnn1d", [0, 2])


def test_compare_protocols_takes_the_two_leaks_apart(run):
    from xaispec.models.evaluate import compare_protocols

    table = compare_protocols(run, [0, 1, "random"])   # no grouped model yet: both leaks together
    assert table["protocol"].tolist() == ["random 75/25 split of augmented rows (the study's: copies and actors leak)",
                                          "actor-disjoint folds", "gap: both leaks (study - actor-disjoint)"]
    assert table["accuracy"].tolist() == pytest.approx([0.8, 0.3, 0.5])
    write_scores(run, "grouped", 0.6, 40, 0.5)
    table = compare_protocols(run, [0, 1, "random", "grouped"])
    assert table["protocol"].tolist() == [
        "random 75/25 split of augmented rows (the study's: copies and actors leak)",
        "random 75/25 split, each recording and its copy on one side (actors leak)", "actor-disjoint folds",
        "gap: the copy leak (study - grouped)", "gap: the speaker leak (grouped - actor-disjoint)",
        "gap: both leaks (study - actor-disjoint)"]
    assert table["folds"].tolist()[:3] == [1, 1, 2] and table["folds"][3:].isna().all()
    assert table["accuracy"].tolist() == pytest.approx([0.8, 0.6, 0.3, 0.2, 0.3, 0.5])
    assert table["f1_weighted"].tolist() == pytest.approx([0.7, 0.5, 0.2, 0.2, 0.3, 0.5])
    written = (run.dir / "evaluation" / "emotion_protocols.csv").read_text().splitlines()
    assert written[0] == "protocol,folds,accuracy,balanced_accuracy,f1_weighted"
    assert written[3].startswith("actor-disjoint folds,2,") and written[4].startswith("gap: the copy leak")
