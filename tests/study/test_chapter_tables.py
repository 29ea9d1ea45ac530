"""The study's tables behind the chapters (the data chapter's run, folds, training, input information): small hand-made inputs, values checked by hand."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xaispec.models.runs import Run, ModelSpec

from conftest import INDEX


# ---------------------------------------------------------------- study: the data chapter's run

class FakeStore:
    def __init__(self, path, index, x):
        self.path, self.index, self.x = Path(path), index, x

    def __len__(self):
        return len(self.index)

    def rows(self, ids):
        return np.array([list(self.index["sample_id"]).index(i) for i in ids])

    def load(self, rows=None):
        return self.x if rows is None else self.x[rows]


def test_preprocessing_markdown_lists_each_stores_steps(tmp_path):
    from xaispec.study.corpus import preprocessing_markdown

    stores = {"mel2d": FakeStore(tmp_path / "data/processed/c/mel2d.h5", INDEX, None)}
    assert preprocessing_markdown(stores, tmp_path) == (
        "**mel2d** (`data/processed/c/mel2d.h5`, 5 samples):\n\n1. the same 2.5 s excerpt\n"
        "2. 40-band log-mel spectrogram: a 40 x 108 image for image explainers")
    assert preprocessing_markdown({}, tmp_path) == "No prepared store yet."


def test_band_means_average_each_label_on_a_log_scale():
    from xaispec.study.corpus import band_means

    index = pd.DataFrame({"sample_id": list("abc"), "emotion": ["sad", "calm", "sad"]})
    x = np.array([[1.0, 10.0], [100.0, 0.0], [19.0, 990.0]], dtype=np.float32)
    table = band_means(FakeStore("s.h5", index, x))
    assert list(table.index) == ["calm", "sad"]
    assert table.loc["sad"].to_numpy() == pytest.approx([1.0, 2.69897], abs=1e-4)  # log10 of 10 and 500
    assert table.loc["calm", 0] == pytest.approx(2.0) and table.loc["calm", 1] == pytest.approx(-10.0)


def test_examples_read_their_recordings_and_inputs(tmp_path):
    from conftest import tone, write_wav

    from xaispec.study.corpus import example_figures, load_examples, open_stores

    for _, row in INDEX.iterrows():
        write_wav(tmp_path / row["path"], tone(0.25, 8000), 8000)
    x = np.arange(5 * 227 * 227, dtype=np.float32).reshape(5, 227, 227)
    stores = {"alexnet": FakeStore("a.h5", INDEX, x)}
    examples = load_examples(INDEX, tmp_path, stores, 2)
    first = examples[0]
    assert first.description == "digit 0, speaker 02 (female), take 0"
    assert first.player_label == "02/0_02_0.wav (8000 Hz, 0.25 s)"
    assert np.array_equal(first.inputs["alexnet"], x[2]) and set(first.inputs) == {"alexnet"}
    assert np.abs(first.signal).max() < 1
    items = example_figures(first, 0)
    assert [name for _, _, name in items] == ["wave-0", "spec-0"]
    assert items[1][1] == ("The AlexNet input of digit 0, speaker 02 (female), take 0: 227 x 227 dB cells, "
                           "0-4 kHz over one second.")
    assert open_stores(Run(tmp_path / "run", tmp_path / "processed")) == {}


# ---------------------------------------------------------------- study: folds

FOLDS = pd.DataFrame({"label": ["digit"] * 4, "fold": ["0"] * 4, "part": ["test", "train", "train", "test"],
                      "speaker": ["03", "02", "01", "10"], "sex": ["female", "male", "female", "female"],
                      "samples": [5, 6, 7, 8]})


def test_fold_parts_name_and_count_the_speakers_of_each_part():
    from xaispec.study.folds import fold_parts

    assert fold_parts(FOLDS).to_dict("records") == [
        {"label": "digit", "fold": "0", "part": "test", "speakers": "03 10", "n_speakers": 2, "female": 2,
         "male": 0, "recordings": 13},
        {"label": "digit", "fold": "0", "part": "train", "speakers": "01 02", "n_speakers": 2, "female": 1,
         "male": 1, "recordings": 13}]


def test_random_split_sizes_and_the_leakage_note(tmp_path):
    from xaispec.study.folds import leakage_note, random_split_sizes, read_folds

    run = Run(tmp_path, tmp_path)
    (tmp_path / "splits").mkdir()
    FOLDS.to_csv(tmp_path / "splits" / "folds.csv", index=False)
    assert read_folds(run)["speaker"].tolist() == ["03", "02", "01", "10"]  # ids stay text
    assert random_split_sizes(run) == {} and leakage_note({}) == ""
    (tmp_path / "splits" / "CNN1D_emotion_random_train.txt").write_text("a\nb\nc\n")
    (tmp_path / "splits" / "CNN1D_emotion_random_test.txt").write_text("d\n")
    sizes = random_split_sizes(run)
    assert sizes == {"train": 3, "test": 1}
    assert "kept to show its leakage: 3 training and 1 test rows" in leakage_note(sizes)


# ---------------------------------------------------------------- study: training

def sidecar(epochs=2, sigmoid=False, **extra):
    return {"settings": {"epochs": epochs, "learning_rate": 0.01, "batch_size": 8, "scaling": "standardize",
                         "study_sigmoid": sigmoid}, "precision_policy": "float32", **extra}


def test_training_facts_and_the_sigmoid_note():
    from xaispec.study.training import fold_tasks, sigmoid_note, training_facts

    assert fold_tasks("digit", [0, 2]) == [ModelSpec("digit", 0, "alexnet"), ModelSpec("digit", 2, "alexnet")]
    facts = training_facts([sidecar(precision_reason="no AVX-512"), sidecar()], [0, 2])
    assert facts == {"n_models": 2, "fold_list": "0, 2", "epochs": 2, "learning_rate": 0.01, "batch_size": 8,
                     "scaling": "standardize", "precision": "float32", "precision_reason": "no AVX-512",
                     "study_comparison": "the study trained 100 epochs with dB/255 inputs."}
    assert training_facts([sidecar(epochs=100)], [0])["study_comparison"] == "as the study."
    assert training_facts([sidecar()], [0])["precision_reason"] == "reason not recorded"
    assert sigmoid_note("digit", [sidecar()]) == ""
    assert sigmoid_note("gender", [sidecar()]).startswith("```{note}\nThe study gave")
    assert "reproduce the flaw." in sigmoid_note("gender", [sidecar()])
    assert "`train.study_sigmoid` is on" in sigmoid_note("gender", [sidecar(sigmoid=True)])


MEAN = pd.DataFrame({"accuracy": [0.9, 0.05], "balanced_accuracy": [0.8, 0.1]}, index=["mean", "std"])


def test_the_mean_accuracy_beside_the_published_one():
    from xaispec.study.training import accuracy_facts, published_comparison

    table = published_comparison(MEAN, 2, "smoke", 0.958)
    assert table.to_dict("records") == [
        {"result": "this book (2 fold(s), smoke profile)", "accuracy": 0.9, "std": "0.050", "balanced_accuracy": 0.8},
        {"result": "AudioMNIST paper, AlexNet (mean over folds)", "accuracy": 0.958, "std": "",
         "balanced_accuracy": ""}]
    facts = accuracy_facts(MEAN, 2, "smoke", 0.958)
    assert facts == {"mean_accuracy": 0.9, "accuracy_sd": " +- 5.0%", "n_folds": 2, "published_accuracy": 0.958,
                     "published_comparison": ", so a short run on synthetic voices is not expected to match it."}
    one = MEAN.assign(accuracy=[0.9, float("nan")])
    assert accuracy_facts(one, 1, "full", 0.958)["accuracy_sd"] == ""
    assert accuracy_facts(one, 1, "full", 0.958)["published_comparison"] == "."
    assert published_comparison(one, 1, "full", 0.958)["std"][0] == ""


def write_evaluation(run: Run, tasks):
    (run.dir / "evaluation").mkdir(parents=True, exist_ok=True)
    (run.dir / "history").mkdir(parents=True, exist_ok=True)
    for k, t in enumerate(tasks):
        pd.DataFrame({"accuracy": [0.5 + k / 10], "test_samples": [10], "extra": [1]}).to_csv(
            run.evaluation_path(t), index=False)
        pd.DataFrame([[3, 1], [0, 4]], index=["a", "b"], columns=["a", "b"]).to_csv(run.confusion_path(t))
        pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.5], "accuracy": [0.4, 0.6], "val_loss": [1.1, 0.7],
                      "val_accuracy": [0.3, 0.5]}).to_csv(run.history_path(t, "csv"), index=False)
    MEAN.to_csv(run.mean_paths(tasks[0].label, "alexnet")["evaluation"])
    pd.DataFrame([[75.0, 25.0], [0.0, 100.0]], index=["a", "b"], columns=["a", "b"]).to_csv(
        run.mean_paths(tasks[0].label, "alexnet")["confusion_percent"])


def test_per_fold_metrics_curves_and_confusions(tmp_path):
    from xaispec.study.training import (confusion_figures, curve_figures, fold_tasks, mean_metrics,
                                        per_fold_metrics)

    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    run = Run(tmp_path, tmp_path)
    tasks = fold_tasks("digit", [0, 1])
    write_evaluation(run, tasks)
    table = per_fold_metrics(run, tasks)
    assert list(table.columns) == ["fold", "test_samples", "accuracy"]  # known metrics only, in their order
    assert table.to_dict("list") == {"fold": [0, 1], "test_samples": [10, 10], "accuracy": [0.5, 0.6]}
    assert mean_metrics(run, "digit").loc["std", "accuracy"] == 0.05
    curves = curve_figures(run, tasks)
    assert [name for _, _, name in curves] == ["loss-0", "accuracy-0", "loss-1", "accuracy-1"]
    assert curves[3][1] == "Training and validation accuracy per epoch, digit fold 1."
    confusions = confusion_figures(run, tasks)
    assert [name for _, _, name in confusions] == ["confusion-0", "confusion-1", "confusion-mean"]
    assert confusions[2][1] == "Mean confusion matrix over 2 fold(s), as a percentage of each actual class."
    assert plt.get_fignums() == open_before   # drawn outside pyplot: a book's long run keeps no figure open


def test_trained_models_lists_every_model_of_every_run(tmp_path):
    from xaispec.study.training import trained_models

    run = Run(tmp_path / "a", tmp_path)
    (run.dir / "models").mkdir(parents=True)
    (run.dir / "models" / "AlexNet_digit_0.json").write_text(json.dumps(
        {"task": "AlexNet_digit_0", "epochs_trained": 2, "seconds": 3.5, "precision_policy": "float32",
         "model_sha256": "0123456789abcdef0123"}))
    (run.dir / "models" / "AlexNet_digit_0.scaling.json").write_text("{}")
    table = trained_models({"fsdd": run, "none": Run(tmp_path / "b", tmp_path)})
    assert table.to_dict("records") == [{"corpus": "fsdd", "model": "AlexNet_digit_0", "epochs": 2, "seconds": 3.5,
                                         "precision": "float32", "why": "", "sha256": "0123456789abcdef"}]
    assert trained_models({}).empty


# ---------------------------------------------------------------- study: input information

PREDICTIONS = pd.DataFrame({
    "sample_id": ["a", "b", "c", "d"], "digit": [1, 2, 2, 3], "participant": ["01", "01", "02", "02"],
    "sex": ["male", "male", "female", "female"], "repetition": [0, 0, 1, 1], "actual": [1, 2, 2, 3],
    "predicted": [1, 3, 3, 3], "correct": [True, False, False, True], "target": [1, 3, 3, 3],
    "p_1": [0.9, 0.1, 0.2, 0.0], "p_2": [0.05, 0.3, 0.1, 0.3], "p_3": [0.05, 0.6, 0.7, 0.7]})


def test_prediction_counts_and_tables():
    from xaispec.study.info import accuracy_by_participant, confusion_counts, prediction_counts, prediction_table

    assert prediction_counts(PREDICTIONS) == {"total": 4, "correct": 2, "wrong": 2, "share": 0.5}
    assert prediction_counts(PREDICTIONS.iloc[:0]) == {"total": 0, "correct": 0, "wrong": 0, "share": 0.0}
    table = prediction_table(PREDICTIONS)
    assert list(table.columns) == ["sample_id", "digit", "participant", "sex", "repetition", "actual", "predicted",
                                   "confidence"]
    assert table["confidence"].tolist() == [0.9, 0.6, 0.7, 0.7]
    assert "confidence" not in prediction_table(PREDICTIONS.drop(columns=["p_1", "p_2", "p_3"])).columns
    wrong = PREDICTIONS[~PREDICTIONS["correct"]]
    assert confusion_counts(wrong).to_dict("records") == [{"actual": 2, "predicted": 3, "count": 2}]
    both = confusion_counts(PREDICTIONS)
    assert both.iloc[0].to_dict() == {"actual": 2, "predicted": 3, "count": 2} and len(both) == 3
    assert accuracy_by_participant(PREDICTIONS).to_dict("records") == [
        {"participant": "01", "sex": "male", "recordings": 2, "accuracy": 0.5},
        {"participant": "02", "sex": "female", "recordings": 2, "accuracy": 0.5}]


def test_uncommitted_note():
    from xaispec.provenance import uncommitted_note

    assert uncommitted_note("abc+dirty") == " (with uncommitted changes)"
    assert uncommitted_note("abc") == "" and uncommitted_note("unknown") == ""
