"""Training and evaluation: every artifact per label, consistent files, hand-checked metrics,
resumption to identical weights, trained models used in place of training, bad input."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from xaispec.cli import app
from xaispec.config import Paths, load_profile
from xaispec.errors import DataError, ParameterError
from xaispec.models.evaluate import metrics, summarize
from xaispec.models.runs import Run, ModelSpec


def cli(*args, code=0):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == code, res.output + repr(res.exception)
    return res.output


@pytest.fixture()
def project(smoke_corpora, tmp_path, monkeypatch):
    """A fresh project per test: the shared smoke corpora and stores, a copy of the split files."""
    for sub in ("raw", "processed"):
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / sub).symlink_to(smoke_corpora / "data" / sub)
    for corpus in ("synthetic-digits", "synthetic-emotions"):
        shutil.copytree(smoke_corpora / "data/runs" / corpus / "splits", tmp_path / "data/runs" / corpus / "splits")
    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    return tmp_path


def weights(path):
    import keras

    return keras.saving.load_model(path, compile=False).get_weights()


def test_digit_and_gender_artifacts(project):
    run = project / "data/runs/synthetic-digits"
    for label in ("digit", "gender"):
        split = run / f"splits/AlexNet_{label}_0_train.txt"   # files, not learning: every 5th training image
        split.write_text("\n".join(split.read_text().split()[::5]) + "\n")
        cli("train", "synthetic-digits", "--label", label, "--fold", 0, "--profile", "smoke", "--epochs", 1)
        cli("evaluate", "synthetic-digits", "--label", label, "--profile", "smoke")
        test_ids = (run / f"splits/AlexNet_{label}_0_test.txt").read_text().split()
        for rel in (f"models/AlexNet_{label}_0.keras", f"history/AlexNet_{label}_0.json",
                    f"history/AlexNet_{label}_0.csv", f"plots/loss/Loss_{label}_0.png",
                    f"plots/accuracy/Accuracy_{label}_0.png", f"plots/confusion/Confusion_{label}_0.png",
                    f"evaluation/classificationReport_{label}_0.csv"):
            assert (run / rel).is_file(), rel
        pred = pd.read_csv(run / f"predictions/predictions_{label}_0.csv", dtype={"participant": str})
        assert len(pred) == len(test_ids) and sorted(pred["sample_id"]) == sorted(test_ids)
        assert {"digit", "participant", "repetition", "actual", "predicted"} <= set(pred.columns)
        probs = pred.filter(like="p_").to_numpy()
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-3)
        cm = pd.read_csv(run / f"evaluation/confusionMatrix_{label}_0.csv", index_col=0)
        assert cm.to_numpy().sum() == len(test_ids)
        assert np.trace(cm.to_numpy()) == (pred["actual"].astype(str) == pred["predicted"].astype(str)).sum()
        ev = pd.read_csv(run / f"evaluation/evaluation_{label}_0.csv")
        assert ev.loc[0, "accuracy"] == pytest.approx(np.trace(cm.to_numpy()) / len(test_ids))
        for col in ("balanced_accuracy", "precision_weighted", "recall_weighted", "f1_weighted", "cohen_kappa",
                    "roc_auc_ovr_macro"):
            assert col in ev.columns
        mean = pd.read_csv(run / f"evaluation/evaluation_{label}_mean.csv", index_col=0)
        assert list(mean.index) == ["mean", "std"] and mean.loc["mean", "accuracy"] == ev.loc[0, "accuracy"]
        pct = pd.read_csv(run / f"evaluation/confusionMatrix_{label}_mean_percent.csv", index_col=0)
        rows = pct.to_numpy().sum(axis=1)
        assert np.allclose(rows[rows > 0], 100, atol=0.1)
    gender = pd.read_csv(run / "predictions/predictions_gender_0.csv")
    assert set(gender["actual"]) == {"male", "female"}  # sex as text, as the study's tables
    sidecar = json.loads((run / "models/AlexNet_digit_0.json").read_text())
    assert sidecar["provenance"]["git_commit"] and sidecar["settings"]["epochs"] == 1
    # a second run reuses the trained model
    out = cli("train", "synthetic-digits", "--label", "digit", "--fold", 0, "--profile", "smoke")
    assert "up to date" in out
    # input information
    out = cli("info", "participants", "synthetic-digits", "--label", "gender", "--fold", 0, "--profile", "smoke")
    assert [line.split()[0] for line in out.strip().splitlines()[1:]] == ["07", "23", "38", "58", "59", "60"]
    out = cli("info", "sex", "synthetic-digits", "12", "7")
    assert "12 female" in " ".join(out.split()) and "07   male" in out
    wrong = cli("info", "predictions", "synthetic-digits", "--label", "digit", "--fold", 0, "--which", "wrong",
                "--first", 3)
    assert len(wrong.strip().splitlines()) <= 4


def test_emotion_three_protocols_and_cnn2d(project):
    """Files, leaks and the protocol table, not learning (the shuffled-label test below is): every 10th
    training row."""
    run = project / "data/runs/synthetic-emotions"
    for fold in ("random", "grouped", "0"):
        split = run / f"splits/CNN_emotion_{fold}_train.txt"
        split.write_text("\n".join(split.read_text().split()[::10]) + "\n")
    for fold in ("random", "grouped", "0"):
        cli("train", "synthetic-emotions", "--label", "emotion", "--fold", fold, "--profile", "smoke")
    cli("train", "synthetic-emotions", "--label", "emotion", "--fold", 0, "--model", "cnn2d", "--profile", "smoke")
    out = cli("evaluate", "synthetic-emotions", "--label", "emotion", "--profile", "smoke")
    assert "the copy leak" in out and "the speaker leak" in out
    cli("evaluate", "synthetic-emotions", "--label", "emotion", "--model", "cnn2d", "--profile", "smoke")
    table = pd.read_csv(run / "evaluation/emotion_protocols.csv").set_index("protocol")["accuracy"]
    study, grouped, disjoint, copies, speakers, both = table.to_numpy()
    assert copies == pytest.approx(study - grouped) and speakers == pytest.approx(grouped - disjoint)
    assert both == pytest.approx(study - disjoint)
    grouped_pred = pd.read_csv(run / "predictions/predictions_CNN1D_emotion_grouped.csv")
    train_ids = (run / "splits/CNN_emotion_grouped_train.txt").read_text().split()
    assert not {s.split("#")[0] for s in grouped_pred["sample_id"]} & {s.split("#")[0] for s in train_ids}
    random_pred = pd.read_csv(run / "predictions/predictions_CNN1D_emotion_random.csv")
    assert len(random_pred) == 2 * 720 // 4  # the study's 25% of the augmented rows (720 clips)
    assert random_pred["sample_id"].str.endswith("#noise").any()
    fold_pred = pd.read_csv(run / "predictions/predictions_CNN1D_emotion_0.csv", dtype={"participant": str})
    train_actors = set(pd.read_csv(run / "splits/folds.csv", dtype={"speaker": str})
                       .query("label == 'emotion' and fold == 0 and part == 'train'")["speaker"])
    assert not set(fold_pred["participant"]) & train_actors  # actor-disjoint
    assert (run / "models/CNN2D_emotion_0.keras").is_file()
    assert (run / "evaluation/classificationReport_CNN2D_emotion_0.csv").is_file()


def test_alexnet_learns_real_spoken_digits_of_unseen_speakers(fsdd, tmp_path):
    """Real speech: the study's AlexNet on FSDD, speaker-disjoint (fold 0: 5 speakers train, 1 tests),
    10 takes per digit and speaker (400 training spectrograms, 100 test), the quick profile's settings
    for 4 epochs at learning rate 0.003 (1,600 image-epochs). Measured on a 2-core AMD EPYC (float32):
    38 of 100 test clips right in 225 s of training; guessing gets 10, and at least 25 happens by chance
    with probability 1e-5. A row or label misalignment anywhere keeps a model at guessing."""
    from xaispec.data.prepare import prepare
    from xaispec.data.splits import write_splits
    from xaispec.data.store import Store
    from xaispec.models.evaluate import evaluate
    from xaispec.models.train import train

    paths = Paths(tmp_path)
    res = prepare("fsdd", fsdd, out_dir=paths.processed / "fsdd", progress=False, limit=None)
    store = Store(res.store)
    small = store.index[store.index["repetition"] < 10]
    write_splits(small, paths.run("fsdd"), labels=["digit"], n_folds=5)
    run = Run(paths.run("fsdd"), paths.processed / "fsdd")
    task = run.task("digit", 0)
    profile = load_profile("quick").with_overrides({
        "train.label_epochs": {"digit": 4}, "train.alexnet": {"learning_rate": 0.003},
        "train.validate_max": 50})   # AlexNet has no early stopping: validation only reports
    result = train(run, task, profile, progress=False)
    assert result.work["image_epochs"] == 4 * 400
    scores = evaluate(run, task)
    pred = pd.read_csv(run.predictions_path(task))
    test_ids = (paths.run("fsdd") / "splits/AlexNet_digit_0_test.txt").read_text().split()
    assert sorted(pred["sample_id"]) == sorted(test_ids) and len(test_ids) == 100
    assert len(set(pred["participant"])) == 1 and set(pred["actual"]) == set(range(10))
    assert scores["accuracy"] >= 0.25, scores
    with pytest.raises(ParameterError, match="fold 7 does not exist.*\\[0, 1, 2, 3, 4\\]"):
        run.task("digit", 7)
    with pytest.raises(DataError, match="no split files for label 'gender'"):
        run.task("gender", 0)


def _emotion_manifest(source, path, *, shuffled: bool):
    """A manifest over the smoke synthetic emotions; ``shuffled``: each speaker's emotions permuted
    among that speaker's recordings (the classes and their shares unchanged, the link to the audio cut)."""
    from xaispec.data.corpora import index_corpus

    table, _ = index_corpus("synthetic-emotions", source)
    emotion = table["emotion"].to_numpy().copy()
    if shuffled:
        rng = np.random.default_rng(0)
        for speaker in table["speaker"].unique():
            mine = (table["speaker"] == speaker).to_numpy()
            emotion[mine] = rng.permutation(emotion[mine])
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"path": [str(source / p) for p in table["path"]], "speaker": table["speaker"],
                  "sex": table["sex"], "emotion": emotion}).to_csv(path, index=False)
    return path


def test_the_1d_cnn_learns_emotions_and_collapses_to_chance_on_shuffled_labels(smoke_corpora, tmp_path,
                                                                                 monkeypatch):
    """The whole path (manifest, store rows, split ids, batch reader, predictions) keeps rows and labels
    together: the 1D CNN learns the smoke emotions (8 classes, chance 0.125) on the grouped protocol, and
    the same corpus with each speaker's emotions shuffled stays at guessing. 10 epochs of the quick
    profile over 1,080 training rows; measured on a 2-core AMD EPYC (each smoke corpus is synthesized
    anew): 0.369 against 0.106, and 0.425 against 0.122, on 360 test rows (about 150 s for both); at 5
    epochs 0.256 against 0.142."""
    source = smoke_corpora / "data" / "raw" / "synthetic-emotions"
    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    accuracy = {}
    for shuffled in (False, True):
        name = "shuffled.csv" if shuffled else "emotions.csv"   # two corpora: two stores, two runs
        manifest = _emotion_manifest(source, tmp_path / "manifests" / name, shuffled=shuffled)
        cli("data", "prepare", manifest, "-r", "mel128")
        cli("data", "splits", manifest, "--label", "emotion")
        cli("train", manifest, "--label", "emotion", "--fold", "grouped", "--profile", "quick", "--epochs", 10)
        cli("evaluate", manifest, "--label", "emotion", "--fold", "grouped", "--profile", "quick")
        from xaispec.models.runs import open_run

        run = open_run(str(manifest), tmp_path, load_profile("quick"))
        scores = pd.read_csv(run.dir / "evaluation/evaluation_CNN1D_emotion_grouped.csv").iloc[0]
        assert scores["test_samples"] == 360
        accuracy[shuffled] = scores["accuracy"]
    # guessing on 360 rows: 0.2 or more with probability 4e-5, 0.25 or more 1e-10
    assert accuracy[False] >= 0.25 and accuracy[True] <= 0.2, accuracy


def test_a_diverging_training_stops_with_a_clear_error(project, tmp_path):
    """A learning rate far too high: the loss turns NaN, training stops at once naming the setting to
    change, and no model is written; a model whose outputs are NaN is refused by evaluate by name."""
    from xaispec.errors import TrainingError
    from xaispec.models.architectures import build
    from xaispec.models.evaluate import evaluate
    from xaispec.models.train import train

    paths = Paths.default()
    run = Run(paths.run("synthetic-emotions"), paths.processed / "synthetic-emotions")
    task = run.task("emotion", 0, "cnn1d")
    profile = load_profile("smoke").with_overrides({"train.cnn1d": {"optimizer": "sgd", "learning_rate": 1e12}})
    with pytest.raises(TrainingError, match=r"CNN1D_emotion_0: training diverged at epoch 1 \(loss nan\); "
                                            r"lower train.cnn1d.learning_rate \(1e\+12\)"):
        train(run, task, profile, progress=False)
    assert not run.model_path(task).exists()
    assert "train_diverged" in (run.dir / "events.log").read_text()
    broken = build("cnn1d", len(task.classes), input_shape=(128, 1))
    broken.set_weights([np.full_like(w, np.nan) for w in broken.get_weights()])
    broken.save(tmp_path / "broken.keras")
    train(run, task, load_profile("smoke"), from_model=tmp_path / "broken.keras", progress=False)
    with pytest.raises(DataError, match="CNN1D_emotion_0.keras: the model outputs NaN or infinite probabilities "
                                        "for 120 of 120 test rows"):
        evaluate(run, task)


def test_metrics_against_hand_computed_values():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 0])
    proba = np.eye(3)[p] * 0.8 + 0.1
    m = metrics(y, p, proba, n_classes=3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    # kappa: po = 4/6, pe = sum(row_i * col_i) / 36 = (2*2 + 2*3 + 2*1) / 36 = 12/36
    assert m["cohen_kappa"] == pytest.approx((4 / 6 - 1 / 3) / (1 - 1 / 3))
    # weighted recall equals accuracy; weighted precision: classes predict 0 (1/2), 1 (2/3), 2 (1/1)
    assert m["recall_weighted"] == pytest.approx(4 / 6)
    assert m["precision_weighted"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    perfect = metrics(y, y, np.eye(3)[y], n_classes=3)
    assert perfect["roc_auc_ovr_macro"] == 1.0 and perfect["cohen_kappa"] == 1.0
    missing = metrics(np.array([0, 0, 1]), np.array([0, 1, 1]), np.eye(3)[[0, 1, 1]], n_classes=3)
    # class 2 has no test sample: the AUC is averaged over classes 0 and 1, each one-vs-rest by hand:
    # class 0 scores (1, 0) for its samples against 0 for the other: (1 + 0.5) / 2; class 1 likewise
    assert missing["roc_auc_ovr_macro"] == pytest.approx(0.75) and missing["roc_auc_classes"] == 2
    alone = metrics(np.array([1, 1]), np.array([1, 0]), np.eye(3)[[1, 0]], n_classes=3)
    assert np.isnan(alone["roc_auc_ovr_macro"]) and alone["roc_auc_classes"] == 0   # one class: no AUC
    assert perfect["roc_auc_classes"] == 3
    binary = metrics(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]),
                     np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]]), n_classes=2)
    assert binary["roc_auc_ovr_macro"] == pytest.approx(1.0)


def test_summary_mean_std_and_confusion(tmp_path):
    run = Run(tmp_path, tmp_path)
    (tmp_path / "evaluation").mkdir()
    for fold, acc, cm in ((0, 0.5, [[2, 2], [0, 4]]), (1, 0.9, [[4, 0], [1, 3]])):
        task = ModelSpec("gender", fold)
        pd.DataFrame([{"model": task.name, "test_samples": 8, "accuracy": acc}]).to_csv(run.evaluation_path(task),
                                                                                       index=False)
        pd.DataFrame(cm, index=["male", "female"], columns=["male", "female"]).to_csv(run.confusion_path(task))
    out = summarize(run, "gender", "alexnet", [0, 1])
    assert out["evaluation"].loc["mean", "accuracy"] == pytest.approx(0.7)
    assert out["evaluation"].loc["std", "accuracy"] == pytest.approx(np.std([0.5, 0.9], ddof=1))
    assert out["confusion"].to_numpy().tolist() == [[3, 1], [0.5, 3.5]]
    assert out["confusion_percent"].to_numpy().tolist() == [[75, 25], [12.5, 87.5]]
    with pytest.raises(DataError, match="evaluation_gender_2.csv: evaluation not found"):
        summarize(run, "gender", "alexnet", [0, 2])


@pytest.mark.parametrize("name,n_classes,options", [("alexnet", 2, {"study_sigmoid": True}), ("cnn1d", 8, {}),
                                                    ("audionet", 2, {"paper_init": True}),   # one shared initializer
                                                    ("cnn2d", 8, {})])
def test_initial_weights_depend_on_the_seed_alone(name, n_classes, options):
    """Keras seeds each initializer from Python's process-wide ``random``, which other threads and
    imports of a process draw from too (a Dask worker's): one draw between the seeding and the
    build moves Keras's weights. A model built with its seed starts from Keras's own weights, and
    from the same ones while another thread draws from ``random`` all through the build."""
    import random
    import threading

    import keras

    from xaispec.models.architectures import build

    def same(a, b):
        return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))

    keras.utils.set_random_seed(0)
    quiet = build(name, n_classes, **options).get_weights()   # nothing else draws: Keras's own
    keras.utils.set_random_seed(0)
    random.random()
    assert not same(build(name, n_classes, **options).get_weights(), quiet)   # one foreign draw moves them
    stop = threading.Event()
    other = threading.Thread(target=lambda: [random.random() for _ in iter(stop.is_set, True)])
    other.start()
    try:
        keras.utils.set_random_seed(0)
        busy = build(name, n_classes, seed=0, **options).get_weights()
    finally:
        stop.set()
        other.join()
    assert same(busy, quiet)
    assert not same(build(name, n_classes, seed=1, **options).get_weights(), quiet)


@pytest.mark.parametrize("label,model,epochs,stop", [("digit", "alexnet", 2, 1), ("emotion", "cnn1d", 5, 2)])
def test_resume_gives_the_same_weights(project, label, model, epochs, stop):
    from xaispec.models.train import train

    corpus = "synthetic-digits" if label == "digit" else "synthetic-emotions"
    profile = load_profile("smoke")
    paths = Paths.default()
    runs = {}
    for name in ("straight", "resumed"):
        run_dir = project / "runs" / name
        shutil.copytree(paths.run(corpus) / "splits", run_dir / "splits")
        for part, keep in (("train", 16), ("validate", 8)):   # resumption is tested, not learning
            split = run_dir / "splits" / f"{'AlexNet' if model == 'alexnet' else 'CNN'}_{label}_0_{part}.txt"
            split.write_text("\n".join(split.read_text().split()[:keep]) + "\n")
        runs[name] = Run(run_dir, paths.processed / corpus)
    task = runs["straight"].task(label, 0, model)
    train(runs["straight"], task, profile, epochs=epochs, progress=False)
    first = train(runs["resumed"], task, profile, epochs=epochs, progress=False, stop_after=stop)
    assert not runs["resumed"].model_path(task).exists()  # interrupted: no final model yet
    assert len(first.history) == stop
    second = train(runs["resumed"], task, profile, epochs=epochs, progress=False)
    assert second.resumed_from == stop
    a, b = weights(runs["straight"].model_path(task)), weights(runs["resumed"].model_path(task))
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    events = (runs["resumed"].dir / "events.log").read_text()
    assert "train_interrupted" in events and "train_resumed" in events


def test_trained_model_instead_of_training(project, tmp_path):
    import keras

    from xaispec.models.architectures import build

    good = tmp_path / "shipped.keras"
    build("cnn1d", 8).save(good)
    out = cli("train", "synthetic-emotions", "--label", "emotion", "--fold", 0, "--from-model", good,
              "--profile", "smoke")
    run = project / "data/runs/synthetic-emotions"
    assert (run / "models/CNN1D_emotion_0.keras").is_file() and not (run / "history/CNN1D_emotion_0.json").exists()
    assert all(np.array_equal(x, y) for x, y in zip(weights(good), weights(run / "models/CNN1D_emotion_0.keras")))
    cli("evaluate", "synthetic-emotions", "--label", "emotion", "--fold", 0, "--profile", "smoke")
    wrong_classes = tmp_path / "four.keras"
    build("cnn1d", 4).save(wrong_classes)
    out = cli("train", "synthetic-emotions", "--label", "emotion", "--fold", 0, "--from-model", wrong_classes, code=1)
    assert "four.keras: model has 4 outputs but the task has 8 classes" in out
    wrong_shape = tmp_path / "shape.keras"
    build("cnn1d", 8, input_shape=(64, 1)).save(wrong_shape)
    out = cli("train", "synthetic-emotions", "--label", "emotion", "--fold", 0, "--from-model", wrong_shape, code=1)
    assert "input shape (64, 1) does not match the data (128, 1)" in out
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"not a model")
    out = cli("train", "synthetic-emotions", "--label", "emotion", "--fold", 0, "--from-model", corrupt, code=1)
    assert "corrupt.keras: not a readable Keras model" in out
    del keras


def test_bad_input_lists_valid_values(project, tmp_path):
    # a wrong value exits with 2 (usage), a missing file with 1
    out = cli("train", "synthetic-digits", "--label", "gender", "--fold", 4, code=2)
    assert "fold 4 does not exist for label 'gender': valid folds are [0, 1, 2, 3]" in out
    out = cli("train", "synthetic-digits", "--label", "speaker", code=2)
    assert "label='speaker' is not one of ['cue', 'digit', 'emotion', 'gender']" in out
    out = cli("train", "synthetic-digits", "--label", "digit", "--model", "cnn1d", code=2)
    assert "cannot learn 'digit'" in out
    out = cli("train", "fsdd", "--label", "digit", code=1)
    assert "xaispec data splits" in out
    (project / "data/runs/fsdd/splits").mkdir(parents=True)
    shutil.copy(project / "data/runs/synthetic-digits/splits/AlexNet_digit_0_test.txt",
                project / "data/runs/fsdd/splits/AlexNet_digit_0_test.txt")
    out = cli("train", "fsdd", "--label", "digit", code=1)
    assert "alexnet.h5: store not found" in out and "xaispec data prepare fsdd" in out
    out = cli("evaluate", "synthetic-digits", "--label", "digit", "--fold", 1, code=1)
    assert "AlexNet_digit_1.keras: model not found" in out


def test_validation_share_is_spread_evenly_over_the_part():
    from xaispec.models.datasets import Part, spread

    part = Part(np.stack([np.zeros(10, dtype=np.int64), np.arange(10)], axis=1), np.arange(10) % 3,
                [f"s{i}" for i in range(10)])
    assert spread(part, 0) is part and spread(part, 10) is part and spread(part, 20) is part
    some = spread(part, 4)
    assert some.ids == ["s0", "s3", "s6", "s9"]  # first and last kept, even steps, order kept
    assert some.refs[:, 1].tolist() == [0, 3, 6, 9] and some.y.tolist() == [0, 0, 0, 0]


def test_an_epoch_reads_every_row_once_in_its_seeds_order_without_tf_data_autotuning(tmp_path):
    """The pipeline training and evaluation read: each row once per epoch, in the order the seed
    draws, scaled, its label beside it; without the autotuning whose thread could hold the end of
    an epoch until its next wake-up (bench/epoch_end.py)."""
    import h5py

    from xaispec.models.datasets import BatchReader, Part, dataset

    rows = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((10, 2, 3), dtype=np.float32)
    with h5py.File(tmp_path / "store.h5", "w") as f:
        f["x"] = rows
    part = Part(np.stack([np.zeros(7, dtype=np.int64), np.array([9, 2, 5, 0, 7, 3, 1])], axis=1),
                np.array([90, 20, 50, 0, 70, 30, 10]), [f"s{i}" for i in range(7)])
    reader = BatchReader(tmp_path / "store.h5")
    scaling = {"kind": "standardize", "mean": 1.0, "std": 2.0}
    ds = dataset(reader, part, scaling, batch_size=3, seed=5)
    batches = list(ds.as_numpy_iterator())
    reader.close()
    assert [len(b[1]) for b in batches] == [3, 3, 1]
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    order = np.random.default_rng(5).permutation(7)
    assert y.tolist() == part.y[order].tolist()
    assert x.shape == (7, 2, 3, 1) and np.array_equal(x[:, 0, 0, 0], (part.refs[order, 1] - 1.0) / 2.0)
    assert np.array_equal(x[:, 0, 0, 0] * 2.0 + 1.0, y / 10.0)   # each row beside its own label
    assert ds.options().autotune.enabled is False

def test_one_public_way_to_open_a_run(tmp_path):
    from xaispec.models.runs import open_run

    run = open_run("synthetic-digits", tmp_path, load_profile("smoke"))
    assert run.dir == tmp_path / "data/runs/synthetic-digits"
    assert run.processed == tmp_path / "data/processed/synthetic-digits" and run.mode == "exact"
    fast = load_profile("smoke").with_overrides({"prepare.mode": "fast"})
    assert open_run("synthetic-digits", tmp_path, fast).store("alexnet").name == "alexnet_fast.h5"
    assert open_run("synthetic-digits", tmp_path, run_dir=tmp_path / "elsewhere").dir == tmp_path / "elsewhere"
    with pytest.raises(ParameterError, match="nosuchcorpus"):
        open_run("nosuchcorpus", tmp_path)


def test_epochs_come_from_the_model_the_label_then_the_cue_kind():
    from xaispec.models.train import settings

    quick = load_profile("quick")
    assert settings(quick, "alexnet")["epochs"] == quick.get("train.alexnet")["epochs"]
    assert settings(quick, "alexnet", "gender")["epochs"] == 2                         # train.label_epochs
    assert settings(quick, "alexnet", "cue", "synthetic-cues-tone")["epochs"] == 4     # train.label_epochs
    own = quick.with_overrides({"train.cue_epochs": {"tone": 6}})                      # train.cue_epochs
    assert settings(own, "alexnet", "cue", "synthetic-cues-tone")["epochs"] == 6
    assert settings(own, "alexnet", "cue", "synthetic-cues-noise")["epochs"] == 4
    assert settings(quick.with_overrides({"train.cue_epochs": {"pair": 9}}), "alexnet", "cue",
                    "synthetic-cues-pair")["epochs"] == 9
    assert settings(quick, "alexnet", "cue")["epochs"] == 4
    # a model's own count for a label comes over the label's: AudioNet learns the tone cue in fewer
    wave = quick.with_overrides({"train.audionet.label_epochs": {"cue": 2}})
    assert settings(wave, "audionet", "cue", "synthetic-cues-tone")["epochs"] == 2
    assert settings(wave, "alexnet", "cue", "synthetic-cues-tone")["epochs"] == 4
    assert settings(wave, "audionet", "gender")["epochs"] == 2                     # train.label_epochs still
    assert "label_epochs" not in settings(wave, "audionet", "cue")
    smoke = load_profile("smoke")   # AlexNet's own count: the smoke sex model trains 10 epochs, the others 1
    assert [settings(smoke, m, "gender")["epochs"] for m in ("alexnet", "audionet")] == [10, 4]
    assert settings(smoke, "alexnet", "digit")["epochs"] == 1
    # a corpus that is not a cue corpus, or another label, never takes a cue kind's count
    assert settings(quick, "alexnet", "digit", "synthetic-cues-tone")["epochs"] == 1
    assert settings(quick, "alexnet", "cue", "synthetic-digits")["epochs"] == 4


def test_audionet_waveforms_are_scaled_each_by_its_own_95th_percentile():
    from xaispec.models.datasets import apply_scaling, fit_scaling

    scaling = fit_scaling(None, None, model="audionet", kind="standardize")   # nothing is fitted
    assert scaling == {"kind": "percentile", "q": 95.0, "offset": 0.001}
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(0, 0.01, 8000), rng.normal(0, 300.0, 8000)]).astype(np.float32)
    out = apply_scaling(x, scaling)
    assert out.shape == (2, 8000, 1)
    for i in range(2):   # the paper's code: x / (np.percentile(x, 95) + 0.001), per waveform
        np.testing.assert_allclose(out[i, :, 0], x[i] / (np.percentile(x[i], 95) + 0.001), rtol=1e-5)
    # a loud and a quiet recording end up on one scale
    assert 0.2 < np.percentile(out[0], 95) / np.percentile(out[1], 95) < 1.0


def test_each_model_gets_its_study_optimizer_unless_the_profile_names_another():
    import keras

    from xaispec.models import build
    from xaispec.models.train import compile_model, settings

    full = load_profile("full")
    assert settings(full, "audionet", "digit")["optimizer"] == "sgd_momentum"    # the paper's solver
    assert settings(load_profile("smoke"), "audionet", "digit")["optimizer"] == "adam"   # the documented departure
    expected = {"alexnet": (keras.optimizers.SGD, 0.0), "audionet": (keras.optimizers.SGD, 0.9),
                "cnn1d": (keras.optimizers.Adam, None)}
    for model, (kind, momentum) in expected.items():
        shape = {"alexnet": (227, 227, 1), "audionet": (8000, 1), "cnn1d": (128, 1)}[model]
        label = "gender" if model != "cnn1d" else "emotion"
        net = compile_model(build(model, 2, input_shape=shape), ModelSpec(label, 0, model),
                            settings(full, model, label), 0.01)
        assert type(net.optimizer) is kind, model
        if momentum is not None:
            assert net.optimizer.momentum == momentum, model
    net = compile_model(build("audionet", 2), ModelSpec("gender", 0, "audionet"), {"optimizer": "adam"}, 0.01)
    assert type(net.optimizer) is keras.optimizers.Adam
    for model in ("alexnet", "audionet", "cnn1d", "cnn2d"):
        with pytest.raises(ParameterError, match=rf"train.{model}.optimizer = 'rmsprop' is not one of"):
            full.with_overrides({f"train.{model}": {"optimizer": "rmsprop"}})
    with pytest.raises(ParameterError, match=r"train.audionet.optimizer='rmsprop' is not one of"):
        compile_model(build("audionet", 2), ModelSpec("gender", 0, "audionet"), {"optimizer": "rmsprop"}, 0.01)



def test_a_corpus_naming_its_own_emotions_has_its_own_classes():
    from xaispec.models.runs import EMOTION_CLASSES, classes, targets

    own = pd.DataFrame({"emotion": ["anger", "boredom", "anger", "sadness"]})
    assert classes("emotion", own) == ["anger", "boredom", "sadness"]        # its own, sorted
    np.testing.assert_array_equal(targets("emotion", own), [0, 1, 0, 2])
    ravdess = pd.DataFrame({"emotion": ["calm", "sad"]})
    assert classes("emotion", ravdess) == list(EMOTION_CLASSES) == classes("emotion")   # RAVDESS's eight, in order


def test_a_manifest_with_its_own_emotion_names_trains_evaluates_and_explains(smoke_corpora, tmp_path, monkeypatch):
    """The smoke synthetic emotions relabelled as another corpus names them (seven emotions, surprise left
    out): prepared, split actor-disjointly, trained, evaluated and explained with its own classes."""
    from xaispec.data.corpora import index_corpus
    from xaispec.study.options import ExplainOptions
    from xaispec.study.samples import select_examples, test_table
    from xaispec.study.stage import explain

    names = {"neutral": "neutral", "calm": "boredom", "happy": "happiness", "sad": "sadness", "angry": "anger",
             "fearful": "fear", "disgust": "disgust"}
    source = smoke_corpora / "data" / "raw" / "synthetic-emotions"
    table, _ = index_corpus("synthetic-emotions", source)
    table = table[table["emotion"].isin(names)]
    manifest = tmp_path / "mine" / "berlin.csv"
    manifest.parent.mkdir()
    pd.DataFrame({"path": [str(source / p) for p in table["path"]], "speaker": table["speaker"], "sex": table["sex"],
                  "emotion": table["emotion"].map(names)}).to_csv(manifest, index=False)
    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    cli("data", "prepare", manifest, "-r", "mel128")
    cli("data", "splits", manifest, "--label", "emotion")
    cli("train", manifest, "--label", "emotion", "--fold", 0, "--profile", "smoke")
    cli("evaluate", manifest, "--label", "emotion", "--fold", 0, "--profile", "smoke")
    from xaispec.models.runs import open_run

    run = open_run(str(manifest), tmp_path, load_profile("smoke"))
    task = run.task("emotion", 0)
    assert task.classes == sorted(names.values())
    sidecar = json.loads(run.model_path(task).with_suffix(".json").read_text())
    assert sidecar["classes"] == sorted(names.values())
    matrix = pd.read_csv(run.confusion_path(task), index_col=0)
    assert list(matrix.index) == list(matrix.columns) == sorted(names.values())
    rows = select_examples(test_table(run, task), task, n=1).head(3)
    res = explain(run, task, rows, ExplainOptions(methods=["shap_gradient"], params={"shap_gradient": {
        "nsamples": 8, "n_background": 8, "background": None}}, figures=False, progress=False))
    assert not res.failures and res.methods["shap_gradient"].explained == 3


def test_a_manifests_own_label_is_split_trained_evaluated_and_explained(tmp_path, monkeypatch):
    """A manifest with a label column of its own (``accent``, one per speaker): speaker-disjoint folds
    holding every accent, an AlexNet named after the label, its classes from the corpus, explained."""
    from conftest import accents_manifest

    manifest = accents_manifest(tmp_path)
    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    cli("data", "prepare", manifest)
    out = cli("data", "splits", manifest)   # a manifest's label columns by default
    assert "accent: 10 files" in out   # 3 folds (the rarest accent has 3 speakers) x 3 parts, and folds.csv
    cli("train", manifest, "--label", "accent", "--fold", 0, "--profile", "smoke")
    cli("evaluate", manifest, "--label", "accent", "--fold", 0, "--profile", "smoke")
    run = tmp_path / "data/runs/accents"
    sidecar = json.loads((run / "models/AlexNet_accent_0.json").read_text())
    assert sidecar["classes"] == ["scottish", "welsh"] and sidecar["label"] == "accent"
    pred = pd.read_csv(run / "predictions/predictions_accent_0.csv")
    assert set(pred["actual"]) == {"scottish", "welsh"} and len(pred) == 8   # one speaker of each accent
    assert {"p_scottish", "p_welsh"} <= set(pred.columns)
    out = cli("explain", manifest, "--label", "accent", "--fold", 0, "--method", "gradcam", "--profile", "smoke",
              "--no-figures")
    assert "AlexNet_accent_0 gradcam: 2 explained" in out   # one per accent and sex in the test fold
    out = cli("train", manifest, "--label", "dialect", "--profile", "smoke", code=2)
    assert "label='dialect' is not one of" in out and "--label dialect" in out
