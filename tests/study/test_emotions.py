"""The emotion chapter's analyses (study/emotions.py): small hand-made runs, values checked by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaispec.models.runs import ModelSpec, Run


def evaluated(run: Run, model: str, fold, accuracy: float, test_samples: int = 10, balanced: float = 0.5,
              f1: float = 0.4) -> ModelSpec:
    task = ModelSpec("emotion", fold, model)
    run.evaluation_path(task).parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"model": task.name, "test_samples": test_samples, "accuracy": accuracy,
                   "balanced_accuracy": balanced, "f1_weighted": f1}]).to_csv(run.evaluation_path(task), index=False)
    return task


@pytest.fixture
def run(tmp_path):
    run = Run(tmp_path / "run", tmp_path / "processed")
    evaluated(run, "cnn1d", "random", 0.75, test_samples=40, balanced=0.7, f1=0.72)
    evaluated(run, "cnn1d", 0, 0.25, test_samples=8, balanced=0.2, f1=0.1)
    evaluated(run, "cnn1d", 1, 0.35, test_samples=12, balanced=0.4, f1=0.3)
    evaluated(run, "cnn2d", 1, 0.5, test_samples=12)
    return run


def test_protocol_tasks_name_the_random_split_and_the_first_fold():
    from xaispec.study.emotions import protocol_tasks

    assert protocol_tasks([2, 3]) == {"study: random 75/25 split (leaky)": ModelSpec("emotion", "random", "cnn1d"),
                                      "actor-disjoint, fold 2": ModelSpec("emotion", 2, "cnn1d")}


def test_protocol_table_scores_every_protocol_and_the_other_models_where_evaluated(run):
    from xaispec.study.emotions import protocol_table

    table = protocol_table(run, [0, 1], ["cnn1d", "cnn2d"])
    assert list(table.columns) == ["protocol", "model", "folds", "test rows", "accuracy", "balanced_accuracy",
                                   "f1_weighted"]
    rows = table.to_dict("records")
    assert rows[0] == {"protocol": "random 75/25 split of augmented rows (the study's: copies and actors leak)",
                       "model": "CNN1D", "folds": 1, "test rows": 40, "accuracy": 0.75, "balanced_accuracy": 0.7,
                       "f1_weighted": 0.72}
    assert rows[1]["protocol"] == "actor-disjoint folds 0, 1" and rows[1]["test rows"] == 20
    assert rows[1]["accuracy"] == pytest.approx(0.30) and rows[1]["f1_weighted"] == pytest.approx(0.2)
    # the 2D CNN was evaluated on fold 1 only
    assert rows[2] == {"protocol": "actor-disjoint folds 1", "model": "CNN2D", "folds": 1, "test rows": 12,
                       "accuracy": 0.5, "balanced_accuracy": 0.5, "f1_weighted": 0.4}
    assert len(rows) == 3
    # a model evaluated on none of the folds is left out
    assert len(protocol_table(run, [0], ["cnn2d", "cnn1d"])) == 2
    # with the grouped split's model: three protocols, the grouped one between the other two
    evaluated(run, "cnn1d", "grouped", 0.5, test_samples=40)
    rows = protocol_table(run, [0, 1], ["cnn1d"]).to_dict("records")
    assert [r["protocol"].split(" (")[0].split(",")[0] for r in rows] == [
        "random 75/25 split of augmented rows", "random 75/25 split", "actor-disjoint folds 0"]
    assert rows[1]["accuracy"] == 0.5 and "actors leak" in rows[1]["protocol"]


def test_leakage_facts_take_each_leak_apart_and_say_what_it_means(run):
    from xaispec.study.emotions import leakage_facts, leakage_verdict

    facts = leakage_facts(run, [0, 1])   # no grouped model: only the total gap is known
    assert facts["random_accuracy"] == 0.75 and facts["disjoint_accuracy"] == pytest.approx(0.30)
    assert facts["leakage_gap"] == pytest.approx(0.45) and np.isnan(facts["copy_gap"])
    assert facts["chance"] == 0.125   # no store here: RAVDESS's eight classes
    evaluated(run, "cnn1d", "grouped", 0.5, test_samples=40)
    facts = leakage_facts(run, [0, 1])
    assert facts["grouped_accuracy"] == 0.5
    assert facts["copy_gap"] == pytest.approx(0.25) and facts["speaker_gap"] == pytest.approx(0.20)
    assert facts["copy_gap"] + facts["speaker_gap"] == pytest.approx(facts["leakage_gap"])
    assert facts["leakage_verdict"] == ("Taken apart: copies of the same recording on both sides of the split add "
                                        "accuracy (+25.0%); the same actors in training and test add accuracy "
                                        "(+20.0%). The study reported 77% with its random split.")
    assert "have not learnt enough" in leakage_verdict(-0.1, 0.0) and "do not add accuracy (-10.0%)" in \
        leakage_verdict(-0.1, 0.0)
    assert leakage_verdict(float("nan"), float("nan")) == ""


def test_band_importance_and_the_top_bands():
    from xaispec.study.emotions import band_importance, top_bands

    maps = np.array([[1.0, -3.0, 0.5], [-1.0, 1.0, 0.5]])
    assert band_importance(maps).tolist() == [1.0, 2.0, 0.5]
    # per-class values (2 samples, 3 bands, 2 classes): the mean of |v| over samples and classes
    values = np.zeros((2, 3, 2))
    values[0, 2, 0], values[1, 2, 1], values[0, 0, 1] = 4.0, -4.0, 2.0
    assert band_importance(maps, values).tolist() == [0.5, 0.0, 2.0]
    assert top_bands(np.array([0.1, 0.9, 0.5, 0.9]), 3) == [1, 3, 2]  # ties: the lower band first
    assert top_bands(np.array([0.3, 0.2])) == [0, 1]  # fewer bands than asked


def test_protocol_top_bands_read_each_protocols_explanations(tmp_path):
    from xaispec.explain import Explanation
    from xaispec.study.emotions import protocol_tasks, protocol_top_bands
    from xaispec.study.results import result_paths

    run = Run(tmp_path, tmp_path)
    protocols = protocol_tasks([0])
    (tmp_path / "explanations").mkdir()
    for k, t in enumerate(protocols.values()):
        maps = np.tile(np.arange(6.0) if k == 0 else -np.arange(6.0)[::-1], (2, 1))
        Explanation(maps, "shap_gradient", [0, 1], {}, 1.0).save(result_paths(run, t, "shap_gradient")[1])
    tops = protocol_top_bands(run, protocols, "shap_gradient", n=3)
    assert tops == {"study: random 75/25 split (leaky)": [5, 4, 3], "actor-disjoint, fold 0": [0, 1, 2]}


def test_band_ranking_and_the_shared_bands():
    from xaispec.study.emotions import band_ranking, shared_bands

    tops = {"a": [5, 4, 3], "b": [3, 9, 5]}
    ranking = band_ranking(tops).to_dict("list")
    assert ranking["rank"] == [1, 2, 3]
    assert [n.split(",")[0] for n in ranking["a"]] == ["mel 5", "mel 4", "mel 3"]
    assert [n.split(",")[0] for n in ranking["b"]] == ["mel 3", "mel 9", "mel 5"]
    assert all(n.endswith(" Hz") for n in ranking["a"] + ranking["b"])   # each band says what it hears
    assert shared_bands(tops) == 2
    assert shared_bands({"a": [1], "b": [2]}) == 0 and shared_bands({}) == 0


def test_mel_bands_are_named_by_their_centre_frequency():
    """Each name's frequency is where librosa's own mel filter of that band peaks (within one FFT bin)."""
    import librosa

    from xaispec.figures.shap import mel_feature_names

    names = mel_feature_names(128)
    filters = librosa.filters.mel(sr=22050, n_fft=2048, n_mels=128)
    peaks = librosa.fft_frequencies(sr=22050, n_fft=2048)[filters.argmax(axis=1)]
    named = np.array([float(n.split(", ")[1].removesuffix(" Hz")) for n in names])
    assert names[5].startswith("mel 5, ") and np.all(np.diff(named) > 0)
    assert np.all(np.abs(named - peaks) <= 22050 / 2048 + 0.5)


def test_shap_figures_list_the_plots_drawn(tmp_path):
    from xaispec.study.emotions import class_shap_figures, mean_shap_figures, protocol_tasks
    from xaispec.study.pictures import feature_plot_folder

    run = Run(tmp_path, tmp_path)
    protocols = protocol_tasks([0])
    random_task = protocols["study: random 75/25 split (leaky)"]
    folder = feature_plot_folder(run, random_task, "shap_kernel")
    folder.mkdir(parents=True)
    for stem in ("summary_mean", "bar_mean", "summary_sad", "bar_angry"):
        (folder / f"{stem}.png").write_bytes(b"png")
    items = mean_shap_figures(run, protocols, "shap_kernel")
    assert [name for _, _, name in items] == ["summary_mean-random", "bar_mean-random"]
    assert items[1] == (folder / "bar_mean.png", "SHAP-Kernel, study: random 75/25 split (leaky): mean |SHAP value| "
                        "of the top bands, stacked by class.", "bar_mean-random")
    by_protocol = class_shap_figures(run, protocols, "shap_kernel")
    assert list(by_protocol) == ["study: random 75/25 split (leaky)"]  # the fold's model has no plots
    # in the order of the classes (RAVDESS's: sad before angry), beeswarm before bar
    assert [(name, caption) for _, caption, name in by_protocol["study: random 75/25 split (leaky)"]] == [
        ("summary_sad-random", "SHAP-Kernel beeswarm for the class sad, study: random 75/25 split (leaky)."),
        ("bar_angry-random", "SHAP-Kernel bar plot for the class angry, study: random 75/25 split (leaky).")]


def test_protocol_figures_caption_each_protocols_curves_and_confusions(tmp_path):
    from xaispec.study.emotions import protocol_figures, protocol_tasks

    run = Run(tmp_path, tmp_path)
    protocols = protocol_tasks([1])
    for t in protocols.values():
        run.history_path(t, "csv").parent.mkdir(parents=True, exist_ok=True)
        run.confusion_path(t).parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.5], "accuracy": [0.4, 0.6], "val_loss": [1.1, 0.7],
                      "val_accuracy": [0.3, 0.5]}).to_csv(run.history_path(t, "csv"), index=False)
        pd.DataFrame([[3, 1], [0, 4]], index=["a", "b"], columns=["a", "b"]).to_csv(run.confusion_path(t))
    import matplotlib.pyplot as plt

    items = protocol_figures(run, protocols)
    for fig, _, _ in items:
        plt.close(fig)  # pyplot figures: the page closes them when it saves them
    assert [name for _, _, name in items] == ["acc-random", "confusion-random", "acc-1", "confusion-1"]
    assert items[0][1] == ("Training and validation accuracy per epoch, study: random 75/25 split (leaky) (the "
                           "random split validates on its test rows, as the study did).")
    assert items[2][1] == "Training and validation accuracy per epoch, actor-disjoint, fold 1 (validated on other actors)."
    assert items[3][1] == "Confusion matrix, actor-disjoint, fold 1 (rows actual, columns predicted)."
