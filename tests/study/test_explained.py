"""What the explanations chapter shows of one model and method (study/explained.py): small
hand-made samples and results, values checked by hand."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from xaispec.models.runs import ModelSpec, Run

#: the book's samples of a digit model: two examples, one more wrong and one more correct prediction
SAMPLES = pd.DataFrame({
    "sample_id": ["3_02_0", "1_01_0", "2_01_1", "4_02_1"], "digit": [3, 1, 2, 4],
    "participant": ["02", "01", "01", "02"], "sex": ["female", "male", "male", "female"],
    "repetition": [0, 0, 1, 1], "actual": ["3", "1", "2", "4"], "predicted": ["3", "7", "5", "4"],
    "correct": [True, False, False, True], "section": ["examples", "examples", "wrong", "correct"]})


def results(ids=SAMPLES["sample_id"], wav=True):
    return pd.DataFrame({"sample_id": list(ids), "runtime": ["0.5", "1.5", "2.5", "x"][:len(ids)],
                         "figure": [f"fig/{i}.png" for i in ids], "panel": [f"fig/{i}_panel.png" for i in ids],
                         "wav": [f"fig/{i}.wav" if wav else "" for i in ids]}).set_index("sample_id")


def explained(tmp_path, samples=SAMPLES, record=None, wav=True):
    from xaispec.study.explained import Explained

    return Explained(Run(tmp_path, tmp_path), ModelSpec("digit", 0, "alexnet"), "gradcam", "Grad-CAM", samples,
                     results(samples["sample_id"], wav),
                     {"params": {"layer": "conv5", "batch_size": 16}, "top_percent": 12.5} if record is None else record)


def test_explained_samples_keep_those_with_results_in_order():
    from xaispec.study.explained import explained_samples

    kept = explained_samples(SAMPLES, results(["4_02_1", "1_01_0"]))
    assert kept["sample_id"].tolist() == ["1_01_0", "4_02_1"] and list(kept.index) == [0, 1]


def test_params_text_leaves_out_the_batch_size():
    from xaispec.study.explained import params_text

    assert params_text({"layer": "conv5", "batch_size": 16, "top": 3}) == "layer=conv5, top=3"
    assert params_text({"batch_size": 16}) == "defaults" and params_text({}) == "defaults"


def test_explained_facts_count_each_section_and_all_predictions(tmp_path):
    from xaispec.study.explained import explained_facts

    assert explained_facts(explained(tmp_path)) == {
        "label": "digit", "fold": 0, "explained": 4, "examples": 2, "more_wrong": 1, "more_correct": 1,
        "wrong": 2, "correct": 2, "params": "layer=conv5"}


def test_sample_captions_name_digit_speaker_and_verdict():
    from xaispec.study.explained import sample_caption

    assert sample_caption(SAMPLES.iloc[1], "Grad-CAM") == (
        "Grad-CAM of 1_01_0: digit 1, participant 01 (male); actual 1, predicted 7 (wrong).")
    gender = SAMPLES.drop(columns="digit").iloc[0]
    assert sample_caption(gender, "LIME panel") == (
        "LIME panel of 3_02_0: participant 02 (female); actual 3, predicted 3 (correct).")


def test_galleries_of_examples_and_predictions(tmp_path):
    from xaispec.study.explained import example_figures, prediction_figures

    ex = explained(tmp_path)
    examples = example_figures(ex)
    # ordered by digit, then sex
    assert [(path, name) for path, _, name in examples] == [(tmp_path / "fig/1_01_0.png", "example-0"),
                                                            (tmp_path / "fig/3_02_0.png", "example-1")]
    wrong = prediction_figures(ex, correct=False)
    assert [name for _, _, name in wrong] == ["wrong-0", "wrong-1"]
    assert wrong[1][1] == "Grad-CAM of 2_01_1: digit 2, participant 01 (male); actual 2, predicted 5 (wrong)."
    assert [p.name for p, _, _ in prediction_figures(ex, correct=True)] == ["3_02_0.png", "4_02_1.png"]
    assert example_figures(explained(tmp_path, SAMPLES[SAMPLES["section"] != "examples"])) == []


def test_panels_of_the_samples_beyond_the_examples_with_their_sound(tmp_path):
    from xaispec.study.explained import sample_panels
    from xaispec.study.results import sample_paths

    ex = explained(tmp_path)
    clip = sample_paths(ex.run, ex.task, SAMPLES.iloc[2])["waveform_wav"]
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"RIFF")
    first, second = sample_panels(ex)
    assert first.heading == "### 2_01_1: actual 2, predicted 5"
    assert first.figure == tmp_path / "fig/2_01_1_panel.png" and first.name == "panel-0"
    assert first.caption.startswith("Grad-CAM panel of 2_01_1: digit 2")
    assert first.recording == clip and second.recording is None  # only the first recording was written
    assert first.audible == tmp_path / "fig/2_01_1.wav"
    assert first.audible_label == "audible explanation: the map's positive evidence, at most its top 12.5% cells"
    # examples only: the first two samples; no audible explanation; the default top 20%
    only = explained(tmp_path, SAMPLES.iloc[:2], record={}, wav=False)
    panels = sample_panels(only)
    assert [p.name for p in panels] == ["panel-0", "panel-1"] and panels[0].heading.startswith("### 3_02_0")
    assert panels[0].audible is None and panels[0].audible_label.endswith("at most its top 20% cells")


def test_runtime_facts_and_failures(tmp_path):
    from xaispec.study.explained import failures_table, runtime_facts

    ex = explained(tmp_path, record={"failures": [{"sample_id": "x", "error": "boom"}]})
    facts = runtime_facts(ex)
    assert facts["runtime_mean"] == pytest.approx(1.5) and facts["runtime_median"] == pytest.approx(1.5)
    assert facts["runtime_n"] == 4  # four timed rows, one of them unreadable
    assert failures_table(ex).to_dict("records") == [{"sample_id": "x", "error": "boom"}]
    assert failures_table(explained(tmp_path)).empty
    assert math.isnan(runtime_facts(explained(tmp_path, SAMPLES.iloc[:0]))["runtime_mean"])


def test_load_explained_reads_the_results_of_the_books_samples(tmp_path, monkeypatch):
    import xaispec.study.steps as steps
    from xaispec.study.explained import load_explained
    from xaispec.study.results import result_paths

    run, task = Run(tmp_path, tmp_path), ModelSpec("digit", 0, "alexnet")
    csv, _, record = result_paths(run, task, "gradcam")
    csv.parent.mkdir()
    table = results(["1_01_0", "1_01_0", "4_02_1"]).reset_index()  # a sample listed twice is read once
    table.to_csv(csv, index=False)
    record.write_text(json.dumps({"params": {}}))
    seen = {}

    def book_samples(run_, task_, options, *, seed=0):
        seen.update(options=options, seed=seed)
        return SAMPLES

    monkeypatch.setattr(steps, "book_samples", book_samples)
    ex = load_explained(run, task, "gradcam", {"examples": 1}, seed=7)
    assert seen == {"options": {"examples": 1}, "seed": 7}
    assert ex.name == "Grad-CAM" and ex.record == {"params": {}}
    assert ex.samples["sample_id"].tolist() == ["1_01_0", "4_02_1"]
    assert ex.results.loc["4_02_1", "runtime"] == "2.5"  # read as text
    assert ex.file(ex.samples.iloc[0], "panel") == tmp_path / "fig/1_01_0_panel.png"
