"""The data chapter's figures draw what they are given."""
from __future__ import annotations

import pandas as pd
import pytest


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
