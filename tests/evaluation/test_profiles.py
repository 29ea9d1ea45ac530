"""Where a map's evidence lies in time and frequency: spectrogram maps and waveform relevance in one geometry."""
from __future__ import annotations

import numpy as np
import pytest

from xaispec.errors import ParameterError
from xaispec.evaluation.profiles import (HOP, FIRST_FRAME, centre_seconds, column_centres, map_profiles,
                                         profile_correlation, waveform_frequency_profile, waveform_time_profile)

SR = 8000


def test_the_columns_are_the_study_stft_frames():
    # the spectrogram keeps frames 2 .. 228 of scipy's centred STFT with a hop of 455 - 420 samples
    import scipy.signal

    t = scipy.signal.stft(np.zeros(8000), SR, nperseg=455, noverlap=420)[1]
    assert HOP == 35 and FIRST_FRAME == 2
    assert np.allclose(column_centres() / SR, t[2:-1])


def test_map_profiles_are_shares_of_positive_evidence_per_column_and_row():
    maps = np.zeros((2, 227, 227))
    maps[0, 10, 100] = 3.0
    maps[0, 50, 100] = 1.0
    maps[0, 20, 30] = -5.0               # evidence against: not counted
    maps[1] = -1.0                       # nothing positive: no profile
    time, freq = map_profiles(maps)
    assert time.shape == freq.shape == (2, 227)
    assert time[0, 100] == 1.0 and time[0].sum() == 1.0
    assert freq[0, 10] == 0.75 and freq[0, 50] == 0.25
    assert np.isnan(time[1]).all() and np.isnan(freq[1]).all()
    with pytest.raises(ParameterError, match=r"\(2, 100, 227\)"):
        map_profiles(np.zeros((2, 100, 227)))


def test_a_sample_counts_in_the_column_centred_nearest_to_it():
    relevance = np.zeros((3, 8000))
    relevance[0, 35 * (40 + FIRST_FRAME)] = 2.0    # exactly at column 40's centre
    relevance[1, 35 * (40 + FIRST_FRAME) + 17] = 1.0  # 17 samples later: still column 40
    relevance[2, 35 * (40 + FIRST_FRAME) + 18] = 1.0  # 18 samples later: column 41
    p = waveform_time_profile(relevance)
    assert p[0, 40] == 1.0 and p[1, 40] == 1.0 and p[2, 41] == 1.0


def test_waveform_and_spectrogram_evidence_in_the_same_stretch_agree_in_time():
    # AudioNet-like relevance on the samples of 0.3-0.5 s; an AlexNet-like map on the columns of the same stretch
    relevance = np.zeros((1, 8000))
    relevance[0, 2400:4000] = np.random.default_rng(0).uniform(0, 1, 1600)
    maps = np.zeros((1, 227, 227))
    cols = (column_centres() >= 2400) & (column_centres() < 4000)
    maps[0][:, cols] = 1.0
    r_same = profile_correlation(map_profiles(maps)[0], waveform_time_profile(relevance))
    moved = np.roll(maps, 100, axis=2)   # the map's evidence 0.44 s later
    r_moved = profile_correlation(map_profiles(moved)[0], waveform_time_profile(relevance))
    assert r_same[0] > 0.9 and r_moved[0] < 0.0
    assert abs(centre_seconds(waveform_time_profile(relevance))[0] - 0.4) < 0.01   # the middle of 0.3-0.5 s
    assert np.isnan(centre_seconds(map_profiles(np.zeros((1, 227, 227)))[0])[0])


def test_the_frequency_profile_of_a_tone_peaks_at_its_bin():
    t = np.arange(8000) / SR
    x = np.sin(2 * np.pi * 1000 * t)[None] * 1000
    p = waveform_frequency_profile(x, np.ones((1, 8000)))
    assert p.shape == (1, 227) and np.isclose(p.sum(), 1.0)
    assert int(np.argmax(p[0])) == round(1000 * 455 / SR)     # bin k is k * 8000 / 455 Hz
    assert np.isnan(waveform_frequency_profile(x, -np.ones((1, 8000)))).all()   # no positive relevance


def test_profile_correlation_closed_form():
    a = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]])
    r = profile_correlation(a, np.array([[2.0, 4.0, 6.0, 8.0], [1.0, 2.0, 3.0, 4.0]]))
    assert np.isclose(r[0], 1.0) and np.isnan(r[1])
    assert np.isclose(profile_correlation(a[:1], -a[:1])[0], -1.0)
    with pytest.raises(ParameterError):
        profile_correlation(a, a[:, :3])
