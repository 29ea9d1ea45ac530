"""The data commands end to end, as a user runs them: synthesize, download, prepare, splits."""
from __future__ import annotations

import json

import h5py
import pandas as pd
import pytest
from typer.testing import CliRunner

from xaispec.cli import app
from xaispec.data.store import Store


@pytest.fixture()
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    return tmp_path


def run(*args, code=0):
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == code, res.output + repr(res.exception)
    return res.output


def test_synthetic_digits_end_to_end(project):
    run("data", "synthesize", "digits", "--profile", "smoke")
    corpus = project / "data/raw/synthetic-digits"
    assert len(list(corpus.glob("data/*/*.wav"))) == 600
    run("data", "prepare", "synthetic-digits", "--profile", "smoke")
    s = Store(project / "data/processed/synthetic-digits/alexnet.h5")
    assert s.shape == (600, 227, 227)
    assert (s.index.groupby("sex")["speaker"].nunique().to_dict() == {"female": 12, "male": 48})
    out = run("data", "splits", "synthetic-digits", "--profile", "smoke")
    assert "digit, gender" in out
    splits = project / "data/runs/synthetic-digits/splits"
    test0 = (splits / "AlexNet_gender_0_test.txt").read_text().split()
    assert sorted({t.split("_")[1] for t in test0}) == ["07", "23", "38", "58", "59", "60"]
    assert set(s.rows(test0)) <= set(range(600))
    events = (project / "data/processed/synthetic-digits/events.log").read_text()
    assert "prepare_done" in events


def test_synthetic_emotions_end_to_end(project):
    run("data", "synthesize", "emotions", "--profile", "smoke")
    run("data", "prepare", "synthetic-emotions", "--profile", "smoke")
    processed = project / "data/processed/synthetic-emotions"
    for rep, shape in (("alexnet", (227, 227)), ("mel128", (128,)), ("mel2d", (40, 108))):
        s = Store(processed / f"{rep}.h5")
        assert s.shape[1:] == shape and len(s) == 24 * 15 * 2
    # emotion clips are longer than a second: the alexnet store crops them and says so
    assert Store(processed / "alexnet.h5").index["cropped"].mean() > 0.5
    assert pd.read_csv(processed / "speech_features.csv").shape == (1440, 129)
    run("data", "splits", "synthetic-emotions", "--profile", "smoke")
    splits = project / "data/runs/synthetic-emotions/splits"
    assert (splits / "CNN_emotion_random_test.txt").is_file()
    assert (splits / "CNN_emotion_0_test.txt").is_file() and (splits / "AlexNet_gender_0_test.txt").is_file()


def test_fsdd_from_a_local_folder(project, fsdd):
    run("data", "download", "fsdd", "--source", str(fsdd))
    link = project / "data/raw/fsdd"
    assert link.is_symlink() and link.resolve() == fsdd.resolve()  # used in place, not copied
    out = run("data", "index", "fsdd")
    assert "3000 recordings, 6 speakers, 0 skipped" in out
    run("data", "prepare", "fsdd", "--limit", "40")
    with h5py.File(project / "data/processed/fsdd/alexnet.h5") as h5:
        assert h5["x"].shape == (40, 227, 227)
        assert json.loads(h5.attrs["config"])["corpus"] == "fsdd"
    res = CliRunner().invoke(app, ["data", "splits", "fsdd"])
    assert res.exit_code == 0 and "gender: no folds" in res.output
    bad = CliRunner().invoke(app, ["data", "splits", "fsdd", "--label", "gender"])
    assert bad.exit_code == 2 and "gender folds need at least 3 speakers of each sex" in bad.output


def test_usage_errors_are_one_line(project):
    """A wrong value given by the user exits with 2, a missing or bad file with 1."""
    res = CliRunner().invoke(app, ["data", "synthesize", "colours"])
    assert res.exit_code == 2 and "kind='colours' is not one of ['digits', 'emotions', 'cues']" in res.output
    res = CliRunner().invoke(app, ["data", "prepare", "audiomnist"])
    assert res.exit_code == 1 and "xaispec data download audiomnist" in res.output
    res = CliRunner().invoke(app, ["data", "prepare", "fsdd", "--profile", "huge"])
    assert res.exit_code == 2 and "unknown profile 'huge'" in res.output
