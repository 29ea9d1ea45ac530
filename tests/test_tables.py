"""The library functions behind the chapters: small hand-made inputs, values checked by hand."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from xaispec.models.runs import Run, Task


def captured(monkeypatch):
    """What :class:`xaispec.book.Page`'s display helpers show, as a list."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    return shown


# ---------------------------------------------------------------- book: page helpers

def test_plain_turns_numpy_scalars_into_python_numbers():
    from xaispec.book.page import plain

    assert type(plain(np.float64(0.25))) is float and plain(np.float64(0.25)) == 0.25
    assert type(plain(np.int64(3))) is int and type(plain(np.bool_(True))) is bool
    assert plain("x") == "x" and plain(7) == 7
    array = np.arange(2)
    assert plain(array) is array  # arrays stay arrays


def test_glue_stores_plain_values_and_markdown(monkeypatch):
    import myst_nb
    from IPython.display import Markdown

    from xaispec.book import Page

    glued = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: glued.append((name, value, display)))
    Page.glue(acc=np.float64(0.5), n=np.int64(4), name="smoke")
    assert glued == [("acc", 0.5, False), ("n", 4, False), ("name", "smoke", False)]
    assert type(glued[0][1]) is float
    glued.clear()
    Page.glue_markdown(about="*text*")
    (name, value, display), = glued
    assert name == "about" and isinstance(value, Markdown) and value.data == "*text*" and display is False


def test_settings_table_writes_each_value():
    from xaispec.book import settings_table

    table = settings_table({"a": 1, "b": [1, "x"]})
    assert list(table.columns) == ["setting", "value"]
    assert table.to_dict("list") == {"setting": ["a", "b"], "value": ["1", "[1, 'x']"]}
    table = settings_table({"b": [1, "x"]}, columns=("package", "version"), value=json.dumps)
    assert table.to_dict("list") == {"package": ["b"], "version": ['[1, "x"]']}
    assert list(settings_table({}).columns) == ["setting", "value"]


def test_table_shows_text_for_an_empty_frame_and_takes_rows(monkeypatch):
    from xaispec.book import Page

    shown = captured(monkeypatch)
    Page.table(pd.DataFrame({"a": []}), caption="c", empty="No rows.")
    assert len(shown) == 1 and shown[0].data == "No rows."
    shown.clear()
    Page.table(pd.DataFrame({"a": []}), empty="")
    assert shown == []
    Page.table([("cpu", "x86")], columns=["item", "value"], sortable=False)
    (html,) = shown
    assert "<th>item</th><th>value</th>" in html.data and ">x86</td>" in html.data


def test_markdown_of_nothing_shows_nothing_and_yaml_keeps_the_order(monkeypatch):
    from xaispec.book import Page

    shown = captured(monkeypatch)
    Page.markdown("")
    assert shown == []
    Page.yaml({"z": 1, "a": {"b": [1, 2]}})
    assert shown[0].data == "```yaml\nz: 1\na:\n  b:\n  - 1\n  - 2\n```"


# ---------------------------------------------------------------- book: corpora, state, survey

def test_corpora_markdown_and_the_synthetic_note():
    from xaispec.book import corpora_markdown, corpus_about, synthetic_note
    from xaispec.book.corpora import SYNTHETIC_NOTE

    text = corpora_markdown({"digits": "fsdd", "emotions": "mine.csv"})
    assert text == ("* the **digits** corpus `fsdd`: Free Spoken Digit Dataset: 6 speakers, 8 kHz\n"
                    "* the **emotions** corpus `mine.csv`")
    assert synthetic_note({"digits": "fsdd", "emotions": "synthetic-emotions"}) == SYNTHETIC_NOTE
    assert synthetic_note({"digits": "audiomnist", "emotions": "ravdess"}) == ""
    assert "{cite:p}`becker2024audiomnist`" in corpus_about("audiomnist")
    assert corpus_about("x.csv") == "recordings listed in x.csv"  # no text of its own: the description


def test_work_per_kind_sums_the_tasks_of_each_kind():
    from xaispec.book import slowest_first, work_per_kind

    steps = pd.DataFrame({"task": ["train:a", "train:b", "explain:c"], "kind": ["train", "train", "explain"],
                          "seconds": [2.0, 3.0, 1.5], "image_epochs": [10, 20, 0], "forward": [1, 2, 30],
                          "backward": [0, 0, 4], "finished": ["", "", ""]})
    table = work_per_kind(steps)
    assert table.to_dict("records") == [
        {"kind": "explain", "tasks": 1, "seconds": 1.5, "image_epochs": 0, "forward": 30, "backward": 4},
        {"kind": "train", "tasks": 2, "seconds": 5.0, "image_epochs": 30, "forward": 3, "backward": 0}]
    assert list(slowest_first(steps)["task"]) == ["train:b", "train:a", "explain:c"]
    empty = work_per_kind(steps.iloc[:0])
    assert len(empty) == 0 and "tasks" in empty.columns


def test_corpus_runs_opens_the_named_corpora(tmp_path, monkeypatch):
    from xaispec.book import corpus_runs

    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    runs = corpus_runs("smoke", {"digits": "fsdd", "emotions": None})
    assert list(runs) == ["fsdd"] and runs["fsdd"].dir.name == "fsdd"


class FakeModel:
    def predict(self, x, verbose=0):
        p = np.zeros((len(x), 2))
        p[np.arange(len(x)), (np.arange(len(x)) % 4 == 0).astype(int)] = 1  # class 1 for every 4th input
        return p


def test_toy_demo_explains_one_input_of_each_class(monkeypatch):
    import xaispec.explain
    from xaispec.book import survey

    x = np.arange(48 * 4 * 4, dtype=np.float32).reshape(48, 4, 4, 1)
    y = np.arange(48) % 2
    monkeypatch.setattr(survey, "toy_problem", lambda **kw: (FakeModel(), x, y))
    toy = survey.toy_demo()
    # class 1 is predicted for inputs 0, 4, 8, ... (all of class 0), class 0 for the others: right for
    # inputs 2, 6, 10, ... only
    assert toy.accuracy == 12 / 48 and toy.inputs == 48
    assert np.array_equal(toy.demo, x[:2]) and np.array_equal(toy.background, x[8:40])

    calls = []

    class Explainer:
        def explain(self, demo):
            calls.append(demo)
            return SimpleNamespace(maps=np.stack([-np.ones((4, 4)), np.ones((4, 4))]), runtime=0.123)

    monkeypatch.setattr(xaispec.explain, "get_explainer", lambda method, model, **p: calls.append((method, p))
                        or Explainer())
    fig, caption = survey.toy_figure(toy, "occlusion", "Occlusion", patch=2)
    assert calls[0] == ("occlusion", {"patch": 2}) and calls[1] is toy.demo
    assert caption.startswith("Occlusion on the toy problem") and "(0.12 s for both)" in caption
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["input, class 0", "Occlusion", "input, class 1", "Occlusion"]
    assert fig.axes[1].images[0].get_cmap().name == "RdBu_r" and fig.axes[3].images[0].get_cmap().name == "inferno"


# ---------------------------------------------------------------- figures

def test_speaker_bars_and_band_profiles_draw_what_they_are_given():
    from xaispec.figures.corpora import band_profiles, speaker_bars

    speakers = pd.DataFrame({"speaker": ["01", "02", "03"], "sex": ["female", "male", "unknown"],
                             "recordings": [5, 7, 1]})
    fig = speaker_bars(speakers)
    bars = fig.axes[0].patches
    assert [b.get_height() for b in bars] == [5, 7, 1]
    for bar, rgb in zip(bars, ((0.839, 0.153, 0.157), (0.122, 0.467, 0.706), (0.498, 0.498, 0.498))):
        assert bar.get_facecolor()[:3] == pytest.approx(rgb, abs=1e-3)  # tab:red, tab:blue, tab:gray
    fig = band_profiles(pd.DataFrame([[0.0, 1.0], [2.0, 3.0]], index=["angry", "calm"]))
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["angry", "calm"]
    assert list(lines[1].get_ydata()) == [2.0, 3.0]


# ---------------------------------------------------------------- data: corpus summaries

def index_of(rows):
    return pd.DataFrame(rows, columns=["sample_id", "path", "speaker", "sex", "repetition", "digit"])


INDEX = index_of([
    ("0_01_0", "01/0_01_0.wav", "01", "male", 0, 0),
    ("1_01_0", "01/1_01_0.wav", "01", "male", 0, 1),
    ("0_02_0", "02/0_02_0.wav", "02", "female", 0, 0),
    ("1_02_0", "02/1_02_0.wav", "02", "female", 0, 1),
    ("1_03_0", "03/1_03_0.wav", "03", "male", 0, 1),
])


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

    assert fold_tasks("digit", [0, 2]) == [Task("digit", 0, "alexnet"), Task("digit", 2, "alexnet")]
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
