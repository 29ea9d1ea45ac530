"""Audible explanations: listen to the time-frequency cells an attribution map ranks highest.

The map is aligned with the AudioMNIST study's 227 x 227 spectrogram: row ``k`` is STFT bin
``k`` (``k * 8000 / 455`` Hz) and column ``j`` is STFT frame ``j + 2`` (hop 35 samples) of
``scipy.signal.stft(x, 8000, nperseg=455, noverlap=420, window="hann")``. The chosen cells
of the complex STFT are kept with their original phase, every other cell (including the
ones outside the 227 x 227 area) is zeroed, and the inverse STFT gives the audio.

:func:`audible_mel` does the same for a map on the emotion models' log-mel image (librosa's
centred STFT, ``n_fft`` 2048, hop 512, at 22,050 Hz).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ..errors import ParameterError
from . import features
from .features import ALEXNET_LEN, ALEXNET_SHAPE, ALEXNET_SR, FIRST_FRAME, NOVERLAP, NPERSEG

#: first STFT frame and last (excluded, counted from the end) of the spectrogram's columns
END_FRAME = -1
PEAK = 0.9
#: version of the rule that picks the cells an audible explanation plays; part of the settings
#: hash of explanation results, so sounds made by an earlier rule are made again
#: (2: positive evidence only, at most ``top_percent`` of the cells)
CELL_RULE = 2
#: STFT size of the mel images (librosa's default); their hop is 512 samples
MEL_N_FFT = 2048
MEL_HOP = 512


def stft(x: np.ndarray) -> np.ndarray:
    """:func:`xaispec.audio.features.stft` of ``x``, once its shape is checked: (8000,) -> (228, 230)."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (ALEXNET_LEN,):
        raise ParameterError(f"audible explanations need one embedded 8-kHz second, shape ({ALEXNET_LEN},), "
                             f"got {x.shape}")
    return features.stft(x)


def evidence_cells(attribution: np.ndarray, top_percent: float = 20.0, *, absolute: bool = False) -> np.ndarray:
    """The cells of any 2-D map with the most evidence for the explained class.

    Only cells with positive attribution are evidence (with ``absolute``: any non-zero
    attribution); at most ``ceil(top_percent / 100 * cells)`` of them are kept, the largest
    first. A sparse map keeps fewer cells than that, and a map without evidence keeps none:
    cells of zero or negative attribution are never used to fill the share.

    Parameters
    ----------
    attribution : np.ndarray, shape (rows, columns)
    top_percent : float
        In (0, 100].
    absolute : bool
        Rank by ``|attribution|`` (signed maps: both directions of evidence).

    Returns
    -------
    np.ndarray, shape (rows, columns), bool
        Ties among equal evidence are broken in row-major order; NaN is no evidence.
    """
    a = np.asarray(attribution, dtype=np.float64)
    if a.ndim != 2:
        raise ParameterError(f"attribution must be a 2-D map, got shape {a.shape}")
    if not 0 < top_percent <= 100:
        raise ParameterError(f"top_percent={top_percent!r} must be in (0, 100]")
    score = np.nan_to_num(np.abs(a) if absolute else a, nan=0.0, posinf=np.finfo(float).max, neginf=0.0).ravel()
    k = int(np.ceil(top_percent / 100.0 * score.size))
    keep = np.zeros(score.size, dtype=bool)
    keep[np.argsort(-score, kind="stable")[:k]] = True
    return (keep & (score > 0)).reshape(a.shape)


def top_cells(attribution: np.ndarray, top_percent: float = 20.0, *, absolute: bool = False) -> np.ndarray:
    """:func:`evidence_cells` of a map aligned with the AlexNet spectrogram.

    Parameters
    ----------
    attribution : np.ndarray, shape (227, 227)
    top_percent : float
        In (0, 100]; at most ``ceil(top_percent / 100 * cells)`` cells with positive evidence are kept.
    absolute : bool
        Rank by ``|attribution|``.

    Returns
    -------
    np.ndarray, shape (227, 227), bool
    """
    if np.shape(attribution) != ALEXNET_SHAPE:
        raise ParameterError(f"attribution of shape {np.shape(attribution)} is not aligned with the "
                             f"{ALEXNET_SHAPE} spectrogram")
    return evidence_cells(attribution, top_percent, absolute=absolute)


def reconstruct(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Inverse STFT of ``x``'s STFT restricted to the ``keep`` cells, with the original phase.

    Parameters
    ----------
    x : np.ndarray, shape (8000,)
    keep : np.ndarray, shape (227, 227), bool
        Cells of the spectrogram to keep; cells outside it are always zeroed.

    Returns
    -------
    np.ndarray, shape (8000,), float64
        Not normalised.
    """
    import scipy.signal

    z = stft(x)
    mask = np.zeros(z.shape, dtype=bool)
    mask[0:ALEXNET_SHAPE[0], FIRST_FRAME:END_FRAME] = np.asarray(keep, dtype=bool)
    _, y = scipy.signal.istft(np.where(mask, z, 0), ALEXNET_SR, nperseg=NPERSEG, noverlap=NOVERLAP, window="hann")
    y = y[:ALEXNET_LEN]
    return np.pad(y, (0, ALEXNET_LEN - len(y)))


def normalise(y: np.ndarray, peak: float = PEAK) -> np.ndarray:
    """``y`` scaled to the given peak amplitude as float32; silence stays silent."""
    y = np.asarray(y, dtype=np.float64)
    top = float(np.max(np.abs(y))) if y.size else 0.0
    if top < 1e-12:
        return np.zeros(y.shape, dtype=np.float32)
    return (y * (peak / top)).astype(np.float32)


def audible_explanation(x: np.ndarray, attribution: np.ndarray, *, top_percent: float = 20.0,
                        absolute: bool = False, peak: float = PEAK) -> np.ndarray:
    """The audio of the time-frequency cells an explanation ranks highest.

    Parameters
    ----------
    x : np.ndarray, shape (8000,)
        The embedded 1-s, 8-kHz clip the spectrogram was computed from.
    attribution : np.ndarray, shape (227, 227)
        Map aligned with the spectrogram (frequency rows, time columns).
    top_percent : float
        Largest percentage of cells kept (20); only cells with positive evidence count.
    absolute : bool
        Rank cells by absolute attribution.
    peak : float
        Peak amplitude of the result (0.9).

    Returns
    -------
    np.ndarray, shape (8000,), float32
        At 8 kHz; zeros when nothing audible is kept (a map without positive evidence is silence).
    """
    return normalise(reconstruct(x, top_cells(attribution, top_percent, absolute=absolute)), peak)


def audible_waveform(x: np.ndarray, relevance: np.ndarray, *, smooth_ms: float = 20.0, sr: int = ALEXNET_SR,
                     peak: float = PEAK) -> np.ndarray:
    """The audible explanation of a waveform model: the waveform weighted by its positive relevance.

    A sample's relevance alone flips sign from one sample to the next (it follows the wave), so
    the positive part is smoothed with a Hann window of ``smooth_ms`` before it weighs the
    waveform: what is heard is the stretch of sound the model took as evidence, at its own pitch.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        The waveform the model heard (any scale).
    relevance : np.ndarray, shape (n,)
        Relevance of each sample (e.g. LRP's on AudioNet's input).
    smooth_ms : float
        Length of the smoothing window in milliseconds (20); 0 weighs sample by sample.
    sr : int
        Sampling rate of ``x`` (8,000 Hz).
    peak : float
        Peak amplitude of the result (0.9).

    Returns
    -------
    np.ndarray, shape (n,), float32
        Silence when no sample has positive relevance.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    relevance = np.asarray(relevance, dtype=np.float64).reshape(-1)
    if relevance.shape != x.shape:
        raise ParameterError(f"relevance of shape {relevance.shape} does not match the waveform's {x.shape}")
    if not smooth_ms >= 0:
        raise ParameterError(f"smooth_ms={smooth_ms!r} must be >= 0")
    weight = np.maximum(relevance, 0.0)
    width = int(round(smooth_ms * sr / 1000.0))
    if width > 1:
        window = np.hanning(width + 2)[1:-1]
        weight = np.convolve(weight, window / window.sum(), mode="same")
    return normalise(x * weight, peak)


def audible_mel(y: np.ndarray, attribution: np.ndarray, *, top_percent: float = 20.0, absolute: bool = False,
                sr: int = 22050, peak: float = PEAK) -> np.ndarray:
    """Audible explanation of a log-mel image: keep the STFT cells of the top mel cells.

    The mel image is ``melspectrogram(y, n_fft=2048, hop_length=512, center=True)``: its
    column ``j`` is STFT frame ``j``, and each STFT bin belongs to the mel band whose filter
    weighs it most. The STFT cells under the top ``top_percent`` % mel cells keep their
    magnitude and phase, the rest are zeroed, and the inverse STFT gives the audio. As for
    spectrograms (:func:`evidence_cells`), only mel cells with positive evidence are kept.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
        The excerpt (see :func:`xaispec.data.signals.excerpt_signal`).
    attribution : np.ndarray, shape (n_mels, frames)
    top_percent : float
        Percentage of mel cells kept, in (0, 100].
    absolute : bool
        Rank cells by absolute attribution.
    sr : int
        Sampling rate of ``y``.
    peak : float
        Peak amplitude of the result.

    Returns
    -------
    np.ndarray, shape (n,), float32
    """
    import librosa

    a = np.asarray(attribution, dtype=np.float64)
    if a.ndim != 2:
        raise ParameterError(f"attribution must be (mel bands, frames), got shape {a.shape}")
    keep = evidence_cells(a, top_percent, absolute=absolute)
    z = librosa.stft(np.asarray(y, dtype=np.float32), n_fft=MEL_N_FFT, hop_length=MEL_HOP, center=True,
                     pad_mode="constant")
    if z.shape[1] != a.shape[1]:
        raise ParameterError(f"attribution has {a.shape[1]} frames, the excerpt {z.shape[1]}")
    fb = librosa.filters.mel(sr=sr, n_fft=MEL_N_FFT, n_mels=a.shape[0])
    band = fb.argmax(axis=0)
    covered = fb.max(axis=0) > 0
    mask = keep[band] & covered[:, None]
    out = librosa.istft(np.where(mask, z, 0), hop_length=MEL_HOP, n_fft=MEL_N_FFT, center=True, length=len(y))
    return normalise(out, peak)


def write_wav(path: str | os.PathLike, audio: np.ndarray, sr: int = ALEXNET_SR) -> Path:
    """Write mono audio in [-1, 1] as 16-bit PCM WAV, atomically (temporary file, then rename)."""
    import soundfile as sf

    audio = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    if audio.ndim != 1:
        raise ParameterError(f"{path}: audio must be mono, shape (n,), got {audio.shape}")
    with atomic_path(path) as tmp:
        sf.write(tmp, audio, int(sr), subtype="PCM_16", format="WAV")
    return Path(path)
