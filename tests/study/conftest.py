"""Smoke runs shared by the study's tests: trained once for the whole tests/study package."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from xaispec.study.samples import test_table as fold_table  # a test_ name would be collected by pytest


@pytest.fixture(scope="package")
def smoke(tmp_path_factory):
    """The run folders of a smoke-size digits run and emotions run, trained one epoch each."""
    import keras

    from xaispec.config import Paths, load_profile
    from xaispec.data import synth
    from xaispec.data.corpora import index_corpus
    from xaispec.data.prepare import prepare
    from xaispec.data.splits import write_splits
    from xaispec.models.evaluate import evaluate
    from xaispec.models.runs import Run
    from xaispec.models.train import train

    root = tmp_path_factory.mktemp("xp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XAISPEC_ROOT", str(root))
        paths = Paths(root)
        profile = load_profile("smoke")
        runs = {}
        try:
            for corpus, kind, rep, label, model in (("synthetic-digits", "digits", "alexnet", "digit", "alexnet"),
                                                     ("synthetic-emotions", "emotions", "mel128", "emotion", "cnn1d")):
                cfg = profile.get(f"synthetic.{kind}")
                if kind == "digits":
                    synth.synthesize_digits(paths.corpus(corpus), participants=cfg["participants"],
                                            repetitions=cfg["repetitions"], sample_rate=cfg["sample_rate"],
                                            progress=False)
                else:
                    synth.synthesize_emotions(paths.corpus(corpus), actors=cfg["actors"],
                                              repetitions=cfg["repetitions"], sample_rate=cfg["sample_rate"],
                                              progress=False)
                prepare(corpus, paths.corpus(corpus), out_dir=paths.processed / corpus, representation=rep,
                        progress=False)
                table, _ = index_corpus(corpus, paths.corpus(corpus))
                write_splits(table, paths.run(corpus), labels=[label], n_folds=profile.get("splits.n_folds"))
                run = Run(paths.run(corpus), paths.processed / corpus)
                task = run.task(label, 0, model)
                train(run, task, profile, epochs=1, progress=False)
                evaluate(run, task)
                runs[kind] = (run, task)
                if kind == "emotions":  # the 2D CNN on mel images, beside the 1D CNN
                    prepare(corpus, paths.corpus(corpus), out_dir=paths.processed / corpus,
                            representation="mel2d", progress=False)
                    task2d = run.task(label, 0, "cnn2d")
                    train(run, task2d, profile, epochs=1, progress=False)
                    evaluate(run, task2d)
                    runs["emotions_cnn2d"] = (run, task2d)
        finally:
            keras.mixed_precision.set_global_policy("float32")  # training may have set a mixed policy
        yield runs


@pytest.fixture(scope="package")
def digits(smoke):
    run, task = smoke["digits"]
    return run, task, fold_table(run, task)


