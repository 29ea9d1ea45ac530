"""Audible explanations: the kept time-frequency cells, resynthesised with their own phase."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from xaispec.audio.resynthesis import audible_explanation, top_cells, write_wav
from xaispec.errors import ParameterError
from xaispec.audio.features import alexnet_spectrogram, embed

SR = 8000


def two_tones() -> np.ndarray:
    """0.5 s of 500 Hz + 2500 Hz, faded, embedded in the middle of one second."""
    t = np.arange(4000) / SR
    clip = (np.sin(2 * np.pi * 500 * t) + np.sin(2 * np.pi * 2500 * t)) * np.hanning(4000)
    return embed(clip, offset=2000)


def band_energy(y: np.ndarray, lo: float, hi: float) -> float:
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    return spectrum[(freqs >= lo) & (freqs <= hi)].sum() / spectrum.sum()


def test_keeping_everything_reconstructs_the_signal():
    x = two_tones()
    y = audible_explanation(x, np.random.default_rng(0).uniform(0.1, 1.0, size=(227, 227)), top_percent=100)
    assert y.shape == (8000,) and y.dtype == np.float32
    assert np.abs(y).max() == pytest.approx(0.9)
    np.testing.assert_allclose(y, 0.9 * x / np.abs(x).max(), atol=1e-4)


def test_keeping_one_band_gives_mostly_that_tone():
    x = two_tones()
    assert band_energy(x, 450, 550) == pytest.approx(0.5, abs=0.05)
    attribution = np.zeros((227, 227))
    row = round(500 * 455 / SR)  # bin of 500 Hz
    attribution[row - 4:row + 5] = 1.0  # 9 rows of 227
    y = audible_explanation(x, attribution, top_percent=100 * 9 / 227)
    assert band_energy(y, 450, 550) > 0.95
    assert band_energy(y, 2400, 2600) < 0.01


def test_top_cells_and_silence():
    a = np.arange(227 * 227, dtype=float).reshape(227, 227)
    keep = top_cells(a, 20)
    assert keep.sum() == int(np.ceil(0.2 * 227 * 227)) and keep[-1, -1] and not keep[0, 0]
    assert top_cells(-a, 1, absolute=True)[-1, -1]
    y = audible_explanation(np.zeros(8000), a)
    assert (y == 0).all() and np.isfinite(y).all()
    with pytest.raises(ParameterError):
        top_cells(a, 0)
    with pytest.raises(ParameterError):
        audible_explanation(np.zeros(4000), a)
    with pytest.raises(ParameterError):
        audible_explanation(np.zeros(8000), a[:100])


def test_only_positive_evidence_is_heard():
    """A sparse map keeps only its evidence, however large the share; zero and negative cells
    never fill it (they used to, from the lowest frequency rows first)."""
    a = np.zeros((227, 227))
    a[100, 50:60] = 1.0                       # 10 cells of evidence
    a[0:5, :] = -1.0                          # counter-evidence in the lowest rows
    keep = top_cells(a, 20)
    assert keep.sum() == 10 and keep[100, 50:60].all()
    assert not keep[0:5].any() and not keep[5:100].any()
    both = top_cells(a, 20, absolute=True)   # |a|: counter-evidence counts, zeros still do not
    assert both.sum() == 10 + 5 * 227 and both[0:5].all() and not both[5:100].any()
    # a map without evidence (all zero, all negative, NaN) is heard as silence
    x = two_tones()
    for empty in (np.zeros((227, 227)), -np.ones((227, 227)), np.full((227, 227), np.nan)):
        assert not top_cells(empty, 20).any()
        assert not audible_explanation(x, empty).any()


def test_ties_among_equal_evidence_are_broken_in_row_major_order():
    a = np.ones((227, 227))
    keep = top_cells(a, 1)
    k = int(np.ceil(0.01 * 227 * 227))
    assert keep.sum() == k and keep.ravel()[:k].all() and not keep.ravel()[k:].any()
    np.testing.assert_array_equal(keep, top_cells(a, 1))   # the same cells every time


def test_evidence_cells_rejects_bad_maps_and_shares():
    from xaispec.audio.resynthesis import evidence_cells

    with pytest.raises(ParameterError, match="2-D"):
        evidence_cells(np.ones(10))
    with pytest.raises(ParameterError, match="top_percent=150"):
        evidence_cells(np.ones((3, 3)), 150)
    assert evidence_cells(np.array([[0.0, 2.0], [1.0, -3.0]]), 100).tolist() == [[False, True], [True, False]]


def test_alignment_with_the_study_spectrogram():
    """The loudest spectrogram cells, kept, sound like the clip (same STFT geometry)."""
    x = two_tones()
    db = alexnet_spectrogram(x)
    y = audible_explanation(x, db + 80.0, top_percent=20)  # energy above the -80 dB floor: loud cells matter
    assert np.corrcoef(y, x)[0, 1] > 0.99


def test_write_wav_is_atomic_and_readable(tmp_path):
    y = audible_explanation(two_tones(), np.ones((227, 227)), top_percent=100)
    path = write_wav(tmp_path / "out" / "x.wav", y)
    data, sr = sf.read(path, dtype="float32")
    assert sr == 8000 and data.shape == (8000,)
    np.testing.assert_allclose(data, y, atol=1 / 16000)
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.wav"]


def test_audible_mel_keeps_the_bands_and_frames_a_mel_map_ranks_highest():
    import librosa

    from xaispec.audio.features import MEL2D_BANDS, MEL2D_FRAMES, MEL_SR, mel_excerpt
    from xaispec.audio.resynthesis import audible_mel

    # 1 s of 500 Hz + 3000 Hz, then the zero padding of a short excerpt
    t = np.arange(MEL_SR) / MEL_SR
    y = mel_excerpt((np.sin(2 * np.pi * 500 * t) + np.sin(2 * np.pi * 3000 * t)) * np.hanning(MEL_SR) * 0.3)
    centres = librosa.mel_frequencies(n_mels=MEL2D_BANDS + 2, fmax=MEL_SR / 2)[1:-1]
    band = int(np.argmin(np.abs(centres - 3000)))
    seconds = MEL_SR / 512                     # mel frames per second
    a = np.zeros((MEL2D_BANDS, MEL2D_FRAMES))
    a[band - 1:band + 2, : int(seconds)] = 1.0  # the 3-kHz bands during the sound
    out = audible_mel(y, a, top_percent=2)
    assert out.shape == y.shape and out.dtype == np.float32 and np.abs(out).max() > 0.5
    spectrum = np.abs(np.fft.rfft(out)) ** 2
    freqs = np.fft.rfftfreq(len(out), 1 / MEL_SR)
    assert spectrum[(freqs > 2500) & (freqs < 3500)].sum() > 0.95 * spectrum.sum()  # the 500 Hz tone is gone
    assert np.abs(out[int(1.2 * MEL_SR):]).max() < 1e-3                              # nothing after the sound
    # a map that ranks only the padding highest is heard as silence
    pad = np.zeros_like(a)
    pad[:, int(1.5 * seconds):] = 1.0
    assert not audible_mel(y, pad, top_percent=20).any()
    # a sparse mel map keeps only its evidence, and a map without any is silence
    sparse = np.zeros_like(a)
    sparse[band, : int(seconds)] = 1.0
    sparse[:3, :] = -1.0                       # counter-evidence in the lowest bands is not heard
    out = audible_mel(y, sparse, top_percent=50)
    spectrum = np.abs(np.fft.rfft(out)) ** 2
    assert spectrum[(freqs > 2500) & (freqs < 3500)].sum() > 0.95 * spectrum.sum()
    assert not audible_mel(y, np.zeros_like(a), top_percent=20).any()


# ---------------------------------------------------------------- waveform models

def test_a_waveform_weighted_by_its_relevance_keeps_only_the_relevant_stretch():
    from xaispec.audio.resynthesis import audible_waveform

    x = two_tones()
    relevance = np.zeros(8000)
    relevance[4000:6000] = 1.0           # evidence in the middle quarter only
    y = audible_waveform(x, relevance, smooth_ms=20.0)
    assert y.shape == (8000,) and y.dtype == np.float32 and np.isclose(np.abs(y).max(), 0.9, atol=1e-6)
    half = 80                            # half the 20-ms smoothing window at 8 kHz
    assert np.all(y[:4000 - half] == 0) and np.all(y[6000 + half:] == 0)
    # inside the stretch (away from its edges) the weight is flat: the sound is the recording, rescaled
    inner = slice(4000 + half, 6000 - half)
    ratio = y[inner][np.abs(x[inner]) > 1e-3] / x[inner][np.abs(x[inner]) > 1e-3]
    assert np.allclose(ratio, ratio[0], rtol=1e-4)


def test_negative_relevance_is_not_heard_and_bad_shapes_are_refused():
    from xaispec.audio.resynthesis import audible_waveform

    x = two_tones()
    assert not audible_waveform(x, -np.ones(8000)).any()
    with pytest.raises(ParameterError, match=r"\(4000,\).*\(8000,\)"):
        audible_waveform(x, np.ones(4000))
    with pytest.raises(ParameterError, match="smooth_ms=-1"):
        audible_waveform(x, np.ones(8000), smooth_ms=-1)
