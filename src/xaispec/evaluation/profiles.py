"""Where in time and frequency a map puts its evidence: profiles comparable across input kinds.

A spectrogram model's map (227 x 227, the AudioMNIST study's geometry) and a waveform model's
relevance (8,000 samples of the same embedded second) cannot be compared cell by cell. Their
*profiles* can: the share of positive evidence in each of the spectrogram's 227 time columns
and 227 frequency rows. Column ``j`` is STFT frame ``j + 2``, centred on sample ``35 (j + 2)``
(hop 35 samples), so a waveform's relevance is summed over the 35 samples nearest each
column's centre; its frequency profile is the spectrum of the audible explanation
(:func:`xaispec.audio.resynthesis.audible_waveform`), the waveform weighted by its smoothed
positive relevance, in the same STFT bins. Each profile sums to 1 (NaN where a map has no
positive evidence).
"""
from __future__ import annotations

import numpy as np

from ..audio.features import ALEXNET_LEN, ALEXNET_SHAPE, ALEXNET_SR, FIRST_FRAME, HOP, sample_columns
from ..errors import ParameterError


def _shares(x: np.ndarray) -> np.ndarray:
    total = x.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, x / total, np.nan)


def column_centres() -> np.ndarray:
    """The sample (at 8 kHz) each spectrogram column is centred on, shape (227,)."""
    return HOP * (np.arange(ALEXNET_SHAPE[1]) + FIRST_FRAME)


def map_profiles(maps) -> tuple[np.ndarray, np.ndarray]:
    """Time and frequency profiles of spectrogram maps.

    Parameters
    ----------
    maps : array-like, shape (n, 227, 227)
        Frequency rows, time columns.

    Returns
    -------
    time, frequency : np.ndarray, shape (n, 227) each
        Each map's positive evidence per column and per row, as shares summing to 1.
    """
    m = np.asarray(maps, dtype=np.float64)
    if m.ndim != 3 or m.shape[1:] != ALEXNET_SHAPE:
        raise ParameterError(f"maps of shape {m.shape} are not (n, {ALEXNET_SHAPE[0]}, {ALEXNET_SHAPE[1]})")
    pos = np.maximum(np.nan_to_num(m), 0.0)
    return _shares(pos.sum(axis=1)), _shares(pos.sum(axis=2))


def waveform_time_profile(relevance) -> np.ndarray:
    """Time profile of waveform relevance in the spectrogram's columns.

    Parameters
    ----------
    relevance : array-like, shape (n, 8000)

    Returns
    -------
    np.ndarray, shape (n, 227)
        Positive relevance of the samples nearest each column's centre, as shares summing to 1.
    """
    r = np.asarray(relevance, dtype=np.float64)
    r = r.reshape(len(r), -1) if r.ndim >= 2 else r
    if r.ndim != 2 or r.shape[1] != ALEXNET_LEN:
        raise ParameterError(f"relevance of shape {np.shape(relevance)} is not (n, {ALEXNET_LEN})")
    pos = np.maximum(np.nan_to_num(r), 0.0)
    # each sample goes to the column whose centre is nearest (samples before the first and
    # after the last centre to those columns)
    column = sample_columns()
    out = np.zeros((len(pos), ALEXNET_SHAPE[1]))
    for i in range(len(pos)):
        out[i] = np.bincount(column, weights=pos[i], minlength=ALEXNET_SHAPE[1])
    return _shares(out)


def waveform_column_mask(masks) -> np.ndarray:
    """Waveform ground-truth masks in the spectrogram's columns: a column is in the mask
    when any of its samples is (see :func:`xaispec.audio.features.sample_columns`).

    Parameters
    ----------
    masks : array-like, shape (n, 8000), bool

    Returns
    -------
    np.ndarray, shape (n, 227), bool
    """
    if np.shape(masks)[1:] not in ((ALEXNET_LEN,), (ALEXNET_LEN, 1)):
        raise ParameterError(f"masks of shape {np.shape(masks)} are not (n, {ALEXNET_LEN})")
    g = np.asarray(masks, dtype=bool).reshape(len(masks), ALEXNET_LEN)   # n may be 0
    column = sample_columns()
    out = np.zeros((len(g), ALEXNET_SHAPE[1]), dtype=bool)
    for i, gi in enumerate(g):
        out[i] = np.bincount(column, weights=gi, minlength=ALEXNET_SHAPE[1]) > 0
    return out


def waveform_frequency_profile(x, relevance, *, smooth_ms: float = 20.0) -> np.ndarray:
    """Frequency profile of waveform relevance in the spectrogram's rows.

    Parameters
    ----------
    x : array-like, shape (n, 8000)
        The waveforms.
    relevance : array-like, shape (n, 8000)
    smooth_ms : float
        Smoothing of the positive relevance before it weighs the waveform (as the audible
        explanation's).

    Returns
    -------
    np.ndarray, shape (n, 227)
        Power of the weighted waveform in each of the spectrogram's frequency rows (all its
        columns), as shares summing to 1.
    """
    from ..audio.features import stft
    from ..audio.resynthesis import audible_waveform

    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    r = np.asarray(relevance, dtype=np.float64).reshape(len(x), -1)
    out = np.zeros((len(x), ALEXNET_SHAPE[0]))
    for i in range(len(x)):
        heard = audible_waveform(x[i], r[i], smooth_ms=smooth_ms).astype(np.float64)
        z = stft(heard)[:ALEXNET_SHAPE[0], FIRST_FRAME:FIRST_FRAME + ALEXNET_SHAPE[1]]
        out[i] = np.square(np.abs(z)).sum(axis=1)
    return _shares(out)


def profile_correlation(a, b) -> np.ndarray:
    """Pearson's correlation between paired profiles, shape (n,); NaN where either is constant or NaN."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ParameterError(f"profiles of shapes {a.shape} and {b.shape} must be two batches of one length")
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, (a * b).sum(axis=1) / den, np.nan)


def centre_seconds(time_profile) -> np.ndarray:
    """Where a time profile's evidence lies on average, in seconds of the embedded second, shape (n,);
    NaN for a profile without evidence."""
    return np.asarray(time_profile, dtype=np.float64) @ (column_centres() / ALEXNET_SR)
