"""Fid-In on sound: a two-tone recording and a "model" that hears which tone is louder.

The 500-Hz tone is louder, so the model says class 0. A map whose evidence lies on the
500-Hz rows keeps that tone in its audible explanation (still class 0) and leaves only the
2.5-kHz tone once those cells are removed (class 1); a map on the 2.5-kHz rows does the
opposite.
"""
from __future__ import annotations

import numpy as np
import pytest

from xaispec.audio.features import alexnet_spectrogram
from xaispec.errors import ParameterError
from xaispec.evaluation.sound import sound_scores

LOW, HIGH = 500.0, 2500.0
ROW = lambda hz: int(round(hz * 455 / 8000))  # noqa: E731 (STFT bin of a frequency)


def recording():
    t = np.arange(8000) / 8000
    return 0.5 * np.sin(2 * np.pi * LOW * t) + 0.25 * np.sin(2 * np.pi * HIGH * t)


def spectrograms(audio):
    return np.stack([alexnet_spectrogram(y) for y in audio])


def louder_tone(x):
    """Class probabilities from the dB difference between the two tones' rows (a softmax of it)."""
    x = np.asarray(x, dtype=np.float64)
    diff = x[:, ROW(LOW) - 1:ROW(LOW) + 2].max(axis=(1, 2)) - x[:, ROW(HIGH) - 1:ROW(HIGH) + 2].max(axis=(1, 2))
    z = np.stack([diff / 5, np.zeros_like(diff)], axis=1)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def band_map(hz):
    a = np.zeros((227, 227))
    a[ROW(hz) - 2:ROW(hz) + 3] = 1.0
    return a


def test_the_explanation_that_keeps_the_evidence_keeps_the_decision():
    y = recording()
    assert louder_tone(spectrograms([y])).argmax() == 0
    maps = np.stack([band_map(LOW), band_map(HIGH)])
    out = sound_scores(louder_tone, np.stack([y, y]), maps, [0, 0], to_input=spectrograms, percents=(5,))
    np.testing.assert_array_equal(out["sound_fid_in_5"].values, [1.0, 0.0])
    np.testing.assert_array_equal(out["sound_out_fid_5"].values, [0.0, 1.0])
    assert out["sound_p_kept_5"].values[0] > 0.9 and out["sound_p_kept_5"].values[1] < 0.5
    assert out["sound_out_p_kept_5"].values[0] < out["sound_out_p_kept_5"].values[1]
    assert out["sound_fid_in_5"].forward == 2 * 3 and out["sound_fid_in_5"].higher_is_better


def test_a_map_without_evidence_is_silence_and_bad_shapes_are_named():
    y = recording()
    out = sound_scores(louder_tone, y[None], -band_map(LOW)[None], [0], to_input=spectrograms, percents=(10,))
    # silence: a flat -80 dB spectrogram, both tones equal, probability 1/2 of class 0
    assert out["sound_p_kept_10"].values[0] == pytest.approx(0.5 / louder_tone(spectrograms([y]))[0, 0])
    with pytest.raises(ParameterError, match=r"\(1, 4000\)"):
        sound_scores(louder_tone, y[None, :4000], band_map(LOW)[None], [0], to_input=spectrograms)
