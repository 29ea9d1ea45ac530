"""From a take to the samples of its file: speak, trim, scale, resample, limit, add noise.

:data:`PROCESSING` records the settings of every step after espeak-ng; it is written
to every manifest.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..._io import atomic_path
from .espeak import speak
from .voices import Take

__all__ = ["PROCESSING"]


def _trim(y: np.ndarray, sr: int, *, top_db: float = 40.0, margin: float = 0.04) -> np.ndarray:
    """Cut leading and trailing silence, keeping ``margin`` seconds around the speech.

    Speech is where the RMS of 10 ms frames is within ``top_db`` of the loudest frame.
    """
    frame = max(1, int(0.01 * sr))
    n = len(y) // frame
    if n == 0:
        return y
    rms = np.sqrt(np.mean(y[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (-top_db / 20))
    pad = int(margin * sr)
    start = max(0, loud[0] * frame - pad)
    stop = min(len(y), (loud[-1] + 1) * frame + pad)
    return y[start:stop]


def _resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """``y`` from ``sr_in`` to ``sr_out`` Hz with soxr (high quality), as float32."""
    if sr_in == sr_out:
        return y
    import soxr

    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32)


#: how a take is processed after espeak-ng (recorded in every manifest)
PROCESSING = {
    "trim_top_db": 40.0,
    "trim_margin_seconds": 0.04,
    "resampler": "soxr HQ",
    "peak_limit": 0.99,
    "subtype": "PCM_16",
}


def render_take(take: Take, sample_rate: int) -> np.ndarray:
    """The take's final samples: speech, trimmed, scaled, resampled, plus noise; in [-1, 1].

    A take whose peak would exceed ``PROCESSING["peak_limit"]`` is scaled down to it,
    as a recording engineer would, instead of clipping.
    """
    y, sr = speak(take.text, voice=take.voice, rate=take.rate, pitch=take.pitch,
                  pitch_range=take.pitch_range, volume=take.volume)
    y = _trim(y, sr, top_db=PROCESSING["trim_top_db"], margin=PROCESSING["trim_margin_seconds"])
    y = _resample(y * np.float32(take.amplitude), sr, sample_rate)
    peak = float(np.abs(y).max()) if y.size else 0.0
    if peak > PROCESSING["peak_limit"]:
        y = y * np.float32(PROCESSING["peak_limit"] / peak)
    noise = np.random.default_rng(list(take.noise_seed)).normal(0.0, take.noise_std, size=y.shape)
    return np.clip(y + noise.astype(np.float32), -1.0, 1.0)


def write_wav(path: Path, y: np.ndarray, sample_rate: int) -> None:
    """Write ``y`` as a mono 16-bit PCM WAV, atomically."""
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(tmp, y, sample_rate, format="WAV", subtype="PCM_16")
