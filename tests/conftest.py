"""Shared fixtures: the real FSDD copy beside the project, and small WAV writers."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

PROJECT = Path(__file__).resolve().parents[1]
FSDD = PROJECT.parent / "shared" / "data" / "fsdd"


@pytest.fixture(scope="session")
def fsdd() -> Path:
    """The read-only FSDD copy (3,000 real recordings of 6 speakers)."""
    if not (FSDD / "recordings").is_dir():
        pytest.fail(f"{FSDD}: the FSDD copy is missing; tests expect ../shared beside the project")
    return FSDD


def tone(seconds: float, sr: int, *, freq: float = 440.0, amp: float = 0.3, seed: int = 0) -> np.ndarray:
    """A short voiced-like test signal: a tone with a little noise and a fade."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    env = np.minimum(1.0, np.minimum(t, t[-1] - t + 1 / sr) * 20) if len(t) else t
    return (amp * env * np.sin(2 * np.pi * freq * t) + 0.01 * rng.normal(size=len(t))).astype(np.float32)


def write_wav(path: Path, data: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, sr, subtype=subtype)
    return path

def wavs(root: Path) -> list[str]:
    """Every WAV under ``root``, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.wav"))


def mtimes(root: Path) -> dict[str, int]:
    """Modification times (ns) of the WAVs under ``root``: what a rerun must leave alone."""
    return {p: os.stat(root / p).st_mtime_ns for p in wavs(root)}


def manifest(root: Path) -> dict:
    """A synthetic corpus's ``manifest.json``."""
    return json.loads((root / "manifest.json").read_text())


def fsdd_like(root: Path, speakers=("anna", "bert", "carl"), digits=range(3), takes=range(2),
              sr: int = 8000, seconds: float = 0.5) -> Path:
    """A small FSDD-layout corpus of test tones."""
    import json

    meta = {}
    for si, spk in enumerate(speakers):
        meta[spk] = {"gender": "female" if si % 2 else "male"}
        for d in digits:
            for k in takes:
                write_wav(root / "recordings" / f"{d}_{spk}_{k}.wav",
                          tone(seconds, sr, freq=200 + 50 * d + 10 * si, seed=d * 100 + k), sr)
    (root / "speakers.json").write_text(json.dumps(meta))
    return root


def accents_manifest(root: Path) -> Path:
    """A manifest with a label column of its own: ``accent`` (scottish, welsh), one per speaker, 3
    speakers of each, 4 test tones per speaker (an accent is a pitch band); ``root/accents.csv``."""
    rows = []
    for accent, base in (("scottish", 300.0), ("welsh", 500.0)):
        for k in range(3):
            speaker = f"{accent[:2]}{k}"
            for word in range(4):
                path = f"clips/{speaker}_{word}.wav"
                write_wav(root / path, tone(0.5, 8000, freq=base + 40 * word, seed=len(rows)), 8000)
                rows.append({"path": path, "speaker": speaker, "sex": "f" if k % 2 else "m", "accent": accent})
    out = root / "accents.csv"
    pd.DataFrame(rows).to_csv(out, index=False)
    return out


def audiomnist_like(root: Path, participants=(1, 2, 12), digits=range(2), reps=range(2),
                    sr: int = 48000, seconds: float = 0.4) -> Path:
    """A small AudioMNIST-layout corpus (data/NN/{d}_{NN}_{r}.wav + meta)."""
    import json

    meta = {}
    for p in participants:
        nn = f"{p:02d}"
        meta[nn] = {"gender": "female" if p in (12, 26, 28, 36, 43, 47, 52, 56, 57, 58, 59, 60) else "male",
                    "age": "30", "accent": "test", "native speaker": "no", "origin": "test",
                    "recordingdate": "17-06-22-11-04-28", "recordingroom": "Kino"}
        for d in digits:
            for r in reps:
                write_wav(root / "data" / nn / f"{d}_{nn}_{r}.wav",
                          tone(seconds, sr, freq=150 + 40 * d + p, seed=p * 1000 + d * 10 + r), sr)
    (root / "data" / "audioMNIST_meta.txt").write_text(json.dumps(meta))
    return root


@pytest.fixture(scope="session")
def smoke_corpora(tmp_path_factory):
    """The smoke-size synthetic corpora, prepared (all representations) with split files.

    Returns the project root (use it as XAISPEC_ROOT); built once per test session.
    """
    from xaispec.config import Paths, load_profile
    from xaispec.data import synth
    from xaispec.data.corpora import index_corpus
    from xaispec.data.prepare import prepare
    from xaispec.data.splits import write_splits

    root = tmp_path_factory.mktemp("smoke")
    paths = Paths(root)
    profile = load_profile("smoke")
    digits = profile.get("synthetic.digits")
    emotions = profile.get("synthetic.emotions")
    synth.synthesize_digits(paths.corpus("synthetic-digits"), participants=digits["participants"],
                            repetitions=digits["repetitions"], sample_rate=digits["sample_rate"], progress=False)
    synth.synthesize_emotions(paths.corpus("synthetic-emotions"), actors=emotions["actors"],
                              repetitions=emotions["repetitions"], sample_rate=emotions["sample_rate"],
                              progress=False)
    for corpus, reps, labels in (("synthetic-digits", ["alexnet"], ["digit", "gender"]),
                                 ("synthetic-emotions", ["alexnet", "mel128", "mel2d"], ["emotion", "gender"])):
        for rep in reps:
            prepare(corpus, paths.corpus(corpus), out_dir=paths.processed / corpus, representation=rep,
                    progress=False)
        table, _ = index_corpus(corpus, paths.corpus(corpus))
        write_splits(table, paths.run(corpus), labels=labels, n_folds=profile.get("splits.n_folds"))
    return root


# a small digit-corpus index: three speakers, both sexes, two digits
def index_of(rows):
    """A corpus index of ``rows`` (sample_id, path, speaker, sex, repetition, digit)."""
    return pd.DataFrame(rows, columns=["sample_id", "path", "speaker", "sex", "repetition", "digit"])


INDEX = index_of([
    ("0_01_0", "01/0_01_0.wav", "01", "male", 0, 0),
    ("1_01_0", "01/1_01_0.wav", "01", "male", 0, 1),
    ("0_02_0", "02/0_02_0.wav", "02", "female", 0, 0),
    ("1_02_0", "02/1_02_0.wav", "02", "female", 0, 1),
    ("1_03_0", "03/1_03_0.wav", "03", "male", 0, 1),
])


# ---------------------------------------------------------------- smoke runs for tests/study

@pytest.fixture(scope="session")
def smoke(smoke_corpora, tmp_path_factory):
    """The run folders of a smoke-size digits run (on a third of its training images) and emotions run,
    trained one epoch each, built once for the session (``tests/study``) under a temporary project root
    (``smoke["root"]``); the corpora and stores are the session's smoke corpora (linked, not made again)."""
    import keras

    from xaispec.config import Paths, load_profile
    from xaispec.data.corpora import index_corpus
    from xaispec.data.splits import write_splits
    from xaispec.models.evaluate import evaluate
    from xaispec.models.runs import Run
    from xaispec.models.train import train

    root = tmp_path_factory.mktemp("xp")
    for sub in ("raw", "processed"):
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / sub).symlink_to(smoke_corpora / "data" / sub)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XAISPEC_ROOT", str(root))
        paths = Paths(root)
        profile = load_profile("smoke")
        runs = {}
        try:
            for corpus, kind, label, model in (("synthetic-digits", "digits", "digit", "alexnet"),
                                               ("synthetic-emotions", "emotions", "emotion", "cnn1d")):
                table, _ = index_corpus(corpus, paths.corpus(corpus))
                write_splits(table, paths.run(corpus), labels=[label], n_folds=profile.get("splits.n_folds"))
                run = Run(paths.run(corpus), paths.processed / corpus)
                if kind == "digits":   # maps to draw and measure, not learning: a third of the training images
                    split = paths.run(corpus) / "splits" / "AlexNet_digit_0_train.txt"
                    split.write_text("\n".join(split.read_text().split()[::3]) + "\n")
                task = run.task(label, 0, model)
                train(run, task, profile, epochs=1, progress=False)
                evaluate(run, task)
                runs[kind] = (run, task)
                if kind == "emotions":  # the 2D CNN on mel images, beside the 1D CNN
                    task2d = run.task(label, 0, "cnn2d")
                    train(run, task2d, profile, epochs=1, progress=False)
                    evaluate(run, task2d)
                    runs["emotions_cnn2d"] = (run, task2d)
        finally:
            keras.mixed_precision.set_global_policy("float32")  # training may have set a mixed policy
    # the project root stays set only for the tests that ask for it (the ``smoke_root`` fixture)
    runs["root"] = root
    yield runs


@pytest.fixture
def smoke_root(smoke, monkeypatch):
    """The smoke runs' project root as ``$XAISPEC_ROOT`` for one test (commands find the runs there)."""
    monkeypatch.setenv("XAISPEC_ROOT", str(smoke["root"]))
    return smoke["root"]


@pytest.fixture(scope="session")
def digits(smoke):
    run, task = smoke["digits"]
    from xaispec.study.samples import test_table as fold_table  # a test_ name would be collected

    return run, task, fold_table(run, task)


