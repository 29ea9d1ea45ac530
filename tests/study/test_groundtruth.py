"""Ground-truth helpers that need no trained model: moved onsets, intervals, the share of a
sound in the cue's cells, and a verdict that follows the numbers. The trained path (a smoke
model on the tone-burst cue, its controls and localisation) is tested on the smoke book."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaispec.data.rows import cue_mask
from xaispec.data.synth import cue_signal, read_cue_manifest, synthesize_cues
from xaispec.models.runs import ModelSpec
from xaispec.study.groundtruth import MIN_MOVE, METRICS, moved_onset
from xaispec.study.located import Located, above_floors, cue_energy_share, verdict_text, wilson


def test_moved_onset_moves_far_enough_and_fits():
    rng = np.random.default_rng(0)
    for onset, duration, length in [(0, 1600, 14400), (12000, 1600, 14400), (6000, 9000, 14400), (100, 14000, 14400)]:
        cue = {"onset": onset, "duration": duration}
        new = moved_onset(cue, length=length, rng=rng)
        assert 0 <= new <= length - duration
        if length - duration >= MIN_MOVE * length:   # room to move far: it does
            assert abs(new - onset) >= MIN_MOVE * length
        else:                                          # else as far as the clip allows
            assert abs(new - onset) == max(onset, length - duration - onset)


def test_wilson_interval_matches_the_closed_form():
    # Wilson (1927) for 5 of 10 and 0 of 20, z = 1.96
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    lo, hi = wilson(0, 20)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(0.1611, abs=1e-4)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    root = synthesize_cues(tmp_path_factory.mktemp("c") / "tone", kind="tone", speakers=1, clips=1, seed=3,
                           progress=False)
    rel, rec = next(iter(read_cue_manifest(root).items()))
    return root, rel, rec


def test_the_cue_alone_lies_in_its_cells_and_the_speech_mostly_not(clip):
    import soundfile as sf

    from xaispec.audio import features as F

    root, rel, rec = clip
    speech, sr = sf.read(root / rec["companions"]["speech"], dtype="int16")
    cue = np.round(cue_signal(rec["cue"], sample_rate=sr, length=len(speech)))
    mask = cue_mask(cue, sr=sr, offset=100).astype(bool)
    embedded = F.embedded_second(cue, sr=sr, offset=100)
    assert cue_energy_share(embedded, mask) > 0.95
    assert cue_energy_share(F.embedded_second(speech.astype(np.float64), sr=sr, offset=100), mask) < 0.2


def located(controls: dict, means: dict) -> Located:
    """A Located whose summary has ``means[method]`` on every metric, with a narrow interval."""
    rows = [{"method": m, "metric": k, "mean": v, "ci_low": v - 0.01, "ci_high": v + 0.01, "n": 8,
             "higher_is_better": True} for m, v in means.items() for k in METRICS]
    base = {"n": 100, "chance": 0.25, "accuracy": 0.95, "accuracy_removed": 0.25, "accuracy_moved": 0.93,
            "kept_moved": 0.9, "explained": 2, "min_move": 0.25,
            "follows": {"gradcam": {"mass_moved": 0.5, "mass_left": 0.01, "n": 2},
                        "lime": {"mass_moved": 0.01, "mass_left": 0.2, "n": 2}}}
    return Located(None, ModelSpec("cue", 0, "alexnet", ("0", "1", "2", "3")), pd.DataFrame(), pd.DataFrame(rows),
                   {"methods": list(means), "sample_ids": ["a"] * 8, "mask_cells": [100], "cells": 51529},
                   {**base, **controls}, pd.DataFrame())


def test_the_verdict_follows_the_numbers():
    means = {"gradcam": 0.6, "lime": 0.05, "random": 0.002, "energy": 0.04}
    good = verdict_text(located({}, means))
    assert "has learnt the cue" in good and "contains chance" in good
    assert "Grad-CAM is highest (0.60)" in good
    assert "Above both floors' 95% intervals: Grad-CAM." in good
    assert "Not distinguishable from a floor" in good and "LIME" in good.split("Not distinguishable")[1]
    assert "maps of Grad-CAM move with it" in good and "maps of LIME do not follow it" in good
    bad = verdict_text(located({"accuracy": 0.6, "accuracy_removed": 0.6, "kept_moved": 0.5}, means))
    assert "has not fully learnt" in bad and "something besides the cue" in bad and "fewer than four in five" in bad
    assert above_floors(located({}, means), "relevance_mass") == {"gradcam": True, "lime": False}
