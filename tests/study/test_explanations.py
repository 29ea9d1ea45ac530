"""Explaining trained models: sample selection, study file names, figures, sounds, reuse, failures.

One smoke run (synthetic digits with an AlexNet digit model; synthetic emotions with a 1D CNN
and a 2D CNN), each trained for one epoch, is built once for the module under a temporary
project root.
"""
from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from xaispec.data.signals import embedded_signal, find_corpus_root
from xaispec.models.loading import float32_model, load_model, model_copy, model_precision
from xaispec.study.options import ExplainOptions
from xaispec.study.results import result_paths
from xaispec.study.samples import select_examples, select_predictions, select_sample
from xaispec.study.samples import test_table as fold_table  # a test_ name would be collected by pytest
from xaispec.study.stage import explain
from xaispec.errors import ParameterError

pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def project_root(request):
    """Commands run in these tests find the smoke runs under their project root."""
    if {"smoke", "digits", "measured"} & set(request.fixturenames):
        request.getfixturevalue("smoke_root")


def predictions_file(run, task) -> pd.DataFrame:
    return pd.read_csv(run.predictions_path(task), dtype={"participant": str, "actual": str, "predicted": str})


# -- choosing what to explain ------------------------------------------------------------------
def test_examples_all_and_single_modes(digits):
    run, task, table = digits
    from xaispec.data.splits import load_split

    assert list(table["sample_id"]) == load_split(run.dir, "digit", 0, "test")
    sizes = table.groupby(["digit", "sex"]).size()
    for n in (1, 2, 5):
        chosen = select_examples(table, task, mode="examples", n=n, seed=0)
        counts = chosen.groupby(["digit", "sex"]).size()
        assert counts.index.equals(sizes.index)  # every digit and sex of the test fold
        assert (counts == np.minimum(n, sizes)).all()
        assert set(chosen["sample_id"]) <= set(table["sample_id"])
    assert select_examples(table, task, mode="examples", n=2, seed=3)["sample_id"].tolist() == \
        select_examples(table, task, mode="examples", n=2, seed=3)["sample_id"].tolist()
    assert len(select_examples(table, task, mode="all")) == len(table)
    single = select_examples(table, task, mode="single")
    assert single["sample_id"].tolist() == table["sample_id"].head(1).tolist()
    for bad in (0, 6):
        with pytest.raises(ParameterError, match="1 to 5"):
            select_examples(table, task, n=bad)
    with pytest.raises(ParameterError, match="examples"):
        select_examples(table, task, mode="some")


def test_wrong_and_correct_filters_match_the_predictions(digits):
    run, task, table = digits
    pred = predictions_file(run, task)
    assert (table["predicted"] == pred["predicted"]).all() and (table["correct"] == pred["correct"]).all()
    wrong = select_predictions(table, which="wrong")
    correct = select_predictions(table, which="correct")
    assert wrong["sample_id"].tolist() == pred.loc[~pred["correct"], "sample_id"].tolist()
    assert correct["sample_id"].tolist() == pred.loc[pred["correct"], "sample_id"].tolist()
    assert (wrong["actual"] != wrong["predicted"]).all() and (correct["actual"] == correct["predicted"]).all()
    assert select_predictions(table, which="wrong", first=3)["sample_id"].tolist() == \
        wrong["sample_id"].head(3).tolist()
    assert (table["target"] == [task.classes.index(p) for p in table["predicted"]]).all()
    with pytest.raises(ParameterError):
        select_predictions(table, which="right")


def test_one_given_sample_and_samples_outside_the_test_fold(digits):
    run, task, table = digits
    row = table.iloc[7]
    # participant given as a number without its leading zero, as a user would type it
    one = select_sample(table, run, task, digit=int(row["digit"]), participant=int(row["participant"]),
                           repetition=int(row["repetition"]))
    assert one["sample_id"].tolist() == [row["sample_id"]]
    assert select_sample(table, run, task, sample_id=row["sample_id"])["sample_id"].tolist() == [row["sample_id"]]
    from xaispec.data.splits import load_split

    train_id = load_split(run.dir, "digit", 0, "train")[0]  # e.g. "0_01_0": a training sample
    digit, participant, rep = train_id.split("_")
    for kwargs in ({"sample_id": train_id}, {"digit": digit, "participant": participant, "repetition": rep}):
        with pytest.raises(ParameterError, match="xaispec info participants synthetic-digits --label digit --fold 0"):
            select_sample(table, run, task, **kwargs)


def test_embedded_signal_is_the_one_preprocessing_used(digits):
    from xaispec.data.store import Store
    from xaispec.audio.features import alexnet_spectrogram

    run, task, table = digits
    store = Store(run.store("alexnet"))
    root = find_corpus_root(store)
    for i in (0, 1):
        row = table.iloc[i]
        y = embedded_signal(row, root, store.attrs["config"]["mode"])
        assert y.shape == (8000,)
        assert np.abs(y[:int(row["offset"])]).max() == 0  # zeros before the stored offset
        np.testing.assert_allclose(alexnet_spectrogram(y), store.load([int(row["row"])])[0], atol=1e-4)


# -- outputs -----------------------------------------------------------------------------------
FAST = {"lime": {"segmentation": "grid", "num_samples": 40}}


def assert_figure(path):
    assert path.is_file(), path
    image = mpimg.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100


def assert_wav(path, sr=8000, n=8000, *, silent=False):
    audio, rate = sf.read(path)
    assert rate == sr and audio.shape == (n,)
    if silent:
        assert np.abs(audio).max() == 0
    else:
        assert np.abs(audio).max() > 0.01


def test_figures_sounds_and_result_files_follow_the_study(digits):
    from xaispec.explain import Explanation

    run, task, table = digits
    samples = select_examples(table, task, n=1).iloc[[0, 5]]
    result = explain(run, task, samples, ExplainOptions(methods=["gradcam", "lime"], params=FAST, progress=False))
    assert not result.failures
    heard = 0
    for _, row in samples.iterrows():
        p, s, d, r, pred = row["participant"], row["sex"], row["digit"], row["repetition"], row["predicted"]
        stem = f"{s}_{d}_{p}_{r}"
        assert_figure(run.dir / "plots" / "waveform" / p / f"{stem}.png")
        assert_wav(run.dir / "plots" / "waveform" / p / f"{stem}.wav")
        assert_figure(run.dir / "plots" / "spectrograms" / p / f"{stem}.png")
        for method, folder in (("gradcam", "Grad-CAM"), ("lime", "LIME")):
            base = run.dir / "plots" / "xai" / folder / "label_digit_split_0" / p / f"{stem}_predicted_{pred}"
            assert_figure(base.with_suffix(".png"))
            assert_figure(base.with_name(base.name + "_panel.png"))
            # a map with positive evidence is heard; one without (LIME on a saturated prediction
            # can fit all-zero weights) is silence, never a padded low-passed copy
            expl = Explanation.load(result_paths(run, task, method)[1])
            a = expl.maps[expl.extra["sample_ids"].tolist().index(row["sample_id"])]
            assert_wav(base.with_suffix(".wav"), silent=not (a > 0).any())
            heard += bool((a > 0).any())
    assert heard >= 2  # Grad-CAM's maps of the predicted class have evidence: the sounds were tested
    for method in ("gradcam", "lime"):
        csv, npz, js = result_paths(run, task, method)
        assert csv.name == f"{method}_digit_0.csv" and csv.parent.name == "explanations"
        rows = pd.read_csv(csv, dtype=str)
        assert rows["sample_id"].tolist() == samples["sample_id"].tolist()
        assert {"sample_id", "target", "predicted", "runtime", "figure", "panel", "wav"} <= set(rows.columns)
        assert all((run.dir / f).is_file() for f in rows["figure"].tolist() + rows["wav"].tolist())
        assert (rows["target"].astype(int) == samples["target"].to_numpy()).all()
        expl = Explanation.load(npz)
        assert expl.maps.shape == (2, 227, 227) and expl.extra["sample_ids"].tolist() == rows["sample_id"].tolist()
        record = json.loads(js.read_text())
        assert record["method"] == method and record["explained"] == 2 and record["failures"] == []
        assert "versions" in record["provenance"] and record["model_file"] == "models/AlexNet_digit_0.keras"
    assert json.loads(result_paths(run, task, "lime")[2].read_text())["params"]["num_samples"] == 40
    events = [json.loads(line)["event"] for line in (run.dir / "events.log").read_text().splitlines()]
    assert "explain_start" in events and "explain_done" in events


def test_finished_outputs_are_reused_unless_forced(digits):
    run, task, table = digits
    samples = table.iloc[[2]]
    first = explain(run, task, samples, ExplainOptions(methods=["gradcam"], progress=False))
    assert first.methods["gradcam"].explained == 1
    files = [run.dir / first.methods["gradcam"].csv, *first.figures]
    row = pd.read_csv(first.methods["gradcam"].csv, dtype=str).set_index("sample_id").loc[samples["sample_id"].iloc[0]]
    files += [run.dir / row["figure"], run.dir / row["panel"], run.dir / row["wav"]]
    before = {f: f.stat().st_mtime_ns for f in files}
    again = explain(run, task, samples, ExplainOptions(methods=["gradcam"], progress=False))
    assert again.methods["gradcam"].explained == 0 and again.methods["gradcam"].reused == 1
    assert {f: f.stat().st_mtime_ns for f in files} == before
    forced = explain(run, task, samples, ExplainOptions(methods=["gradcam"], force=True, progress=False))
    assert forced.methods["gradcam"].explained == 1
    assert all(f.stat().st_mtime_ns > before[f] for f in files)


def test_mixed_precision_models_are_explained_in_float32_unless_asked(digits):
    run, task, table = digits
    bf16 = model_copy(load_model(run, task), "mixed_bfloat16")
    assert model_precision(bf16) == "mixed_bfloat16"
    assert model_precision(float32_model(bf16)) == "float32"
    plain = float32_model(bf16)
    assert float32_model(plain) is plain  # a float32 model is not copied again
    samples = table.iloc[[0]]
    quiet = ExplainOptions(methods=["gradcam"], figures=False, force=True, progress=False)
    res = explain(run, task, samples, quiet, model=bf16)
    assert json.loads(res.methods["gradcam"].json.read_text())["precision"] == "float32"
    res = explain(run, task, samples, quiet.replace(float32=False), model=bf16)
    assert json.loads(res.methods["gradcam"].json.read_text())["precision"] == "mixed_bfloat16"
    # methods whose bfloat16 maps disagree with float32's are not offered as trained
    with pytest.raises(ParameterError, match="occlusion: explaining the model as trained .* not offered"):
        explain(run, task, samples, ExplainOptions(methods=["occlusion"], float32=False, progress=False), model=bf16)


def test_same_seed_same_maps(digits):
    from xaispec.explain import Explanation

    run, task, table = digits
    # the two least confident predictions: where a model saturates (p = 0.9999), every LIME
    # perturbation scores the same and any seed fits the same all-zero weights
    confidence = table.filter(regex=r"^p_").max(axis=1)
    samples = table.loc[confidence.nsmallest(2).index]
    maps = []
    for seed in (0, 0, 1):
        options = ExplainOptions(methods=["lime", "smoothgrad"], params=FAST, seed=seed, force=True, figures=False,
                                 progress=False)
        res = explain(run, task, samples, options)
        maps.append({m: Explanation.load(r.npz).maps for m, r in res.methods.items()})
    for method in ("lime", "smoothgrad"):
        np.testing.assert_array_equal(maps[0][method], maps[1][method])
        assert not np.array_equal(maps[0][method], maps[2][method])


def test_unknown_method_lists_the_valid_ones(digits):
    run, task, table = digits
    with pytest.raises(ParameterError) as err:
        explain(run, task, table.head(1), ExplainOptions(methods=["gradcamm"], progress=False))
    assert "gradcamm" in str(err.value) and "integrated_gradients" in str(err.value)


# -- the command line ----------------------------------------------------------------------------
def invoke(*args):
    from xaispec.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_errors_name_the_problem(digits):
    run, task, table = digits
    res = invoke("explain", "synthetic-digits", "--label", "digit", "--fold", "0", "--profile", "smoke",
                 "-m", "gradcamm")
    assert res.exit_code == 2 and "valid methods" in res.output and "shap_kernel" in res.output
    res = invoke("explain", "synthetic-digits", "--label", "digit", "--fold", "0", "--profile", "smoke",
                 "--digit", "0", "--participant", "1", "--repetition", "0")  # participant 01 trains fold 0
    assert res.exit_code == 2
    assert "not in the test fold" in res.output and "xaispec info participants" in res.output


def test_cli_a_failing_method_is_reported_and_the_rest_continue(digits, monkeypatch):
    from xaispec.explain.gradcam import GradCAM

    run, task, table = digits
    wrong = select_predictions(table, which="wrong", first=3)
    assert len(wrong) == 3
    bad_id = wrong["sample_id"].iloc[1]
    from xaispec.data.store import Store
    from xaispec.models.datasets import apply_scaling, load_scaling

    raw = Store(run.store("alexnet")).load([int(wrong["row"].iloc[1])])
    bad = apply_scaling(raw, load_scaling(run, task))[0]
    original = GradCAM._explain

    def failing(self, x, targets):
        # fail whenever the batch holds the chosen sample
        if any(np.allclose(xi, bad) for xi in x):
            raise RuntimeError("boom")
        return original(self, x, targets)

    monkeypatch.setattr(GradCAM, "_explain", failing)
    res = invoke("explain", "synthetic-digits", "--label", "digit", "--fold", "0", "--profile", "smoke",
                 "--which", "wrong", "--first", "3", "-m", "gradcam", "-m", "saliency", "--no-figures", "--force")
    assert res.exit_code == 4, res.output  # done, but explanations failed (3 is for skipped files)
    failed = [line for line in res.output.splitlines() if line.startswith("failed:")]
    assert failed == [f"failed: AlexNet_digit_0 gradcam {bad_id}: RuntimeError: boom"]
    assert "gradcam: 2 explained" in res.output and "saliency: 3 explained" in res.output
    csv, _, js = result_paths(run, task, "gradcam")
    done = pd.read_csv(csv, dtype=str)
    assert bad_id not in set(done["sample_id"]) and set(wrong["sample_id"]) - {bad_id} <= set(done["sample_id"])
    assert [f["sample_id"] for f in json.loads(js.read_text())["failures"]] == [bad_id]
    # --allow-failures accepts it
    res = invoke("explain", "synthetic-digits", "--label", "digit", "--fold", "0", "--profile", "smoke",
                 "--which", "wrong", "--first", "3", "-m", "gradcam", "--no-figures", "--allow-failures")
    assert res.exit_code == 0 and "1 failed" in res.output


def test_cli_lrp_takes_its_composite_and_the_bounds_of_the_db_input(digits):
    from xaispec.explain import Explanation
    from xaispec.models.datasets import apply_scaling, load_scaling

    run, task, table = digits
    res = invoke("explain", "synthetic-digits", "--label", "digit", "--fold", "0", "--profile", "smoke",
                 "--which", "wrong", "--first", "2", "-m", "lrp", "--no-figures", "--force")
    assert res.exit_code == 0, res.output
    _, npz, _ = result_paths(run, task, "lrp")
    default = Explanation.load(npz)
    # the box rule's bounds: -80 and 0 dB in the model's input space
    low, high = apply_scaling(np.array([[-80.0, 0.0]], dtype=np.float32), load_scaling(run, task))[0, :, 0]
    assert default.params["composite"] == "epsilon_gamma_box" and default.params["rules"]["conv1"] == "box"
    np.testing.assert_allclose(default.params["bounds"], [low, high], rtol=1e-6)
    res = invoke("explain", "synthetic-digits", "--label", "digit", "--fold", "0", "--profile", "smoke",
                 "--which", "wrong", "--first", "2", "-m", "lrp", "-p", "lrp.composite=preset_a",
                 "--no-figures", "--force")
    assert res.exit_code == 0, res.output
    preset = Explanation.load(npz)
    assert preset.params["rules"]["conv1"] == "alphabeta:1,0" and preset.params["rules"]["output"] == "epsilon:0.1"
    assert not np.allclose(preset.maps, default.maps)
    res = invoke("explain", "synthetic-digits", "--label", "digit", "--fold", "0", "--profile", "smoke",
                 "--which", "wrong", "--first", "2", "-m", "lrp", "-p", "lrp.composite=sharpest", "--no-figures")
    assert res.exit_code == 2 and "unknown composite 'sharpest'" in res.output


# -- emotions: SHAP on the 1D CNN ------------------------------------------------------------------
def test_emotion_cnn1d_shap_plots_per_class_and_mean(smoke):
    from xaispec.explain import Explanation

    run, task = smoke["emotions"]
    table = fold_table(run, task)
    samples = select_examples(table, task, n=1).head(6)
    params = {"shap_kernel": {"nsamples": 64, "n_background": 20, "k": 5},
              "shap_permutation": {"max_evals": 257, "n_background": 4}}
    res = explain(run, task, samples, ExplainOptions(methods=["shap_kernel"], params=params, progress=False))
    assert not res.failures
    expl = Explanation.load(res.methods["shap_kernel"].npz)
    assert expl.maps.shape == (6, 128) and expl.extra["values"].shape == (6, 128, 8)
    base = run.dir / "plots" / "xai" / "SHAP-Kernel" / "CNN1D_emotion_0"
    for name in [*task.classes, "mean"]:
        assert_figure(base / f"summary_{name}.png")
        assert_figure(base / f"bar_{name}.png")
    rows = pd.read_csv(res.methods["shap_kernel"].csv)
    assert len(rows) == 6 and res.methods["shap_kernel"].csv.name == "shap_kernel_CNN1D_emotion_0.csv"
    # the emotion study's estimator, with an Independent masker over training rows
    res = explain(run, task, samples, ExplainOptions(methods=["shap_permutation"], params=params, figures=False,
                                                     progress=False))
    values = Explanation.load(res.methods["shap_permutation"].npz).extra["values"]
    assert values.shape == (6, 128, 8) and np.abs(values).sum() > 0
    record = json.loads(res.methods["shap_permutation"].json.read_text())
    assert record["params"]["background"].startswith("array(") and record["params"]["n_background"] == 4


# -- emotions: Grad-CAM and LIME on the 2D CNN's mel images ---------------------------------------
def test_emotion_cnn2d_gradcam_and_lime_on_mel_images(smoke):
    from xaispec.explain import Explanation
    from xaispec.audio.features import MEL2D_BANDS, MEL2D_FRAMES

    run, task = smoke["emotions_cnn2d"]
    samples = select_examples(fold_table(run, task), task, n=1).head(2)
    params = {"lime": {"num_samples": 40}}
    res = explain(run, task, samples, ExplainOptions(methods=["gradcam", "lime"], params=params, progress=False))
    assert not res.failures
    for method, folder in (("gradcam", "Grad-CAM"), ("lime", "LIME")):
        expl = Explanation.load(res.methods[method].npz)
        assert expl.maps.shape == (2, MEL2D_BANDS, MEL2D_FRAMES)
        assert np.isfinite(expl.maps).all() and np.abs(expl.maps).sum() > 0
        assert expl.extra["sample_ids"].tolist() == samples["sample_id"].tolist()
        rows = pd.read_csv(res.methods[method].csv, dtype=str)
        assert res.methods[method].csv.name == f"{method}_CNN2D_emotion_0.csv"
        for fig in rows["figure"]:
            assert f"xai/{folder}/label_emotion_cnn2d_split_0/" in fig
            assert_figure(run.dir / fig)
        for wav in rows["wav"]:
            # the audible explanation of the 2.5-s excerpt (silent when the top cells are all
            # in its zero padding, as a barely trained model's may be: see test_audible.py)
            audio, rate = sf.read(run.dir / wav)
            assert rate == 22050 and audio.shape == (int(2.5 * 22050),)
    # the mel image of each sample, beside its excerpt's waveform
    assert len(list((run.dir / "plots").rglob("*_mel2d.png"))) >= 2
    assert len(list((run.dir / "plots").rglob("*_excerpt.png"))) >= 2


def test_gradcam_on_a_loaded_sequential_model(tmp_path):
    """A Sequential loaded from a file calls its early layers once per rebuild; Grad-CAM must use
    the conv layer's output in the model's own graph (it got None gradients before)."""
    import keras

    from xaispec.explain import get_explainer

    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential([keras.Input((12, 10, 1)), L.Conv2D(4, 3, activation="relu"),
                              L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(3, activation="softmax")])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    assert len(loaded.layers[0]._inbound_nodes) > 1  # the situation that broke Grad-CAM
    x = np.random.default_rng(0).uniform(-1, 1, size=(3, 12, 10, 1)).astype(np.float32)
    for name in ("gradcam", "gradcam++"):
        ours = get_explainer(name, loaded).explain(x, targets=[0, 1, 2])
        expected = get_explainer(name, model).explain(x, targets=[0, 1, 2])
        np.testing.assert_allclose(ours.maps, expected.maps, atol=1e-5)


def test_lrp_composites_side_by_side(digits):
    from xaispec.explain.lrp import COMPOSITES
    from xaispec.study.composites import compare_composites, composites_text

    run, task, table = digits
    c = compare_composites(run, task, table, n=2)
    assert set(c.maps) == set(COMPOSITES) and not c.skipped and c.default == "epsilon_gamma_box"
    assert c.inputs.shape == (2, 227, 227) and all(m.shape == (2, 227, 227) for m in c.maps.values())
    t = c.table.set_index("composite")
    assert t.loc["epsilon_gamma_box", "Spearman with default"] == pytest.approx(1.0)
    assert (t["Spearman with default"].drop("epsilon_gamma_box") < 0.999).all()  # different maps, not copies
    assert ((t["positive share"] >= 0) & (t["positive share"] <= 1)).all()
    assert c.default in composites_text(c)
    only = compare_composites(run, task, table, n=1, composites=["zero", "preset_b"])
    assert list(only.maps) == ["zero", "preset_b"] and only.table["Spearman with default"].isna().all()


# -- AudioNet: relevance over the waveform ---------------------------------------------------------
def test_cli_explains_audionet_waveforms_with_figures_and_sound(digits, tmp_path):
    """``xaispec explain --model audionet``: the waveform coloured by relevance above the same second's
    spectrogram, the waveform weighted by its positive relevance as sound, and LRP's unbounded default."""
    import keras

    from xaispec.explain import Explanation
    from xaispec.models.architectures import build

    run, _, _ = digits
    assert invoke("data", "prepare", "synthetic-digits", "-r", "audionet").exit_code == 0
    keras.utils.set_random_seed(0)
    shipped = tmp_path / "audionet.keras"
    build("audionet", 10).save(shipped)          # an untrained AudioNet stands in for a trained one
    res = invoke("train", "synthetic-digits", "--label", "digit", "--fold", "0", "--model", "audionet",
                 "--from-model", str(shipped), "--profile", "smoke")
    assert res.exit_code == 0, res.output
    res = invoke("explain", "synthetic-digits", "--label", "digit", "--fold", "0", "--model", "audionet",
                 "--profile", "smoke", "--which", "wrong", "--first", "2", "-m", "lrp", "-m", "occlusion")
    assert res.exit_code == 0, res.output
    task = run.task("digit", 0, "audionet")
    for method in ("lrp", "occlusion"):
        csv, npz, _ = result_paths(run, task, method)
        assert csv.name == f"{method}_AudioNet_digit_0.csv"
        expl = Explanation.load(npz)
        assert expl.maps.shape == (2, 8000)
        rows = pd.read_csv(csv, keep_default_na=False)
        for _, row in rows.iterrows():
            assert_figure(run.dir / row["figure"])
            assert_figure(run.dir / row["panel"])
            audio, sr = sf.read(run.dir / row["wav"])
            assert sr == 8000 and audio.shape == (8000,)
    lrp = Explanation.load(result_paths(run, task, "lrp")[1])
    assert lrp.params["composite"] == "epsilon_plus_flat" and lrp.params["rules"]["conv1"] == "flat"
    occlusion = Explanation.load(result_paths(run, task, "occlusion")[1])
    assert occlusion.params["patch"] == 400 and occlusion.extra["n_patches"] == 39   # 50-ms windows, 25-ms steps
