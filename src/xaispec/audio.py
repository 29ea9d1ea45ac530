"""Reading audio files, with checks that name the file and what is wrong with it."""
from __future__ import annotations

import hashlib
import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

#: samples are returned in 16-bit integer units (full scale 32768), as the AudioMNIST
#: study read them with ``scipy.io.wavfile``; dB spectrograms with ``ref=max`` do not
#: depend on this scale, but the study's ``amin`` floor does for very quiet clips.
INT16_SCALE = 32768.0


@dataclass
class Audio:
    """A decoded clip.

    Attributes
    ----------
    samples : np.ndarray, shape (n,), float32
        Mono samples (channels averaged) in 16-bit integer units.
    sr : int
        Sample rate in Hz.
    channels : int
        Channels in the file (1 = mono; more were mixed down).
    sha256 : str
        Hex SHA-256 of the file's bytes.
    """

    samples: np.ndarray
    sr: int
    channels: int
    sha256: str

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sr


def _check_riff(path: Path, data: bytes) -> None:
    """Raise DataError if a RIFF/WAVE file is cut short of what its header declares."""
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        return  # not a WAV header: let the decoder judge
    endian = "<" if data[:4] == b"RIFF" else ">"
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        (size,) = struct.unpack(endian + "I", data[pos + 4:pos + 8])
        if cid == b"data":
            have = len(data) - pos - 8
            if size != 0xFFFFFFFF and size > have:
                raise DataError(
                    f"{path}: truncated WAV: header declares {size} bytes of audio, the file holds {have}")
            return
        pos += 8 + size + (size & 1)
    raise DataError(f"{path}: WAV file has no data chunk (truncated or damaged)")


def read_audio(path: str | os.PathLike) -> Audio:
    """Read an audio file as mono float32 samples in 16-bit integer units.

    Parameters
    ----------
    path : path-like
        Any format libsndfile reads (WAV, FLAC, OGG, ...), any sample rate.

    Returns
    -------
    Audio
        ``samples`` of shape (n,), ``sr`` and the original channel count.
        Multi-channel files are mixed down by averaging the channels.

    Raises
    ------
    DataError
        Missing, empty, truncated, undecodable or zero-length file, or NaN/Inf samples.
    """
    import soundfile as sf

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror})") from None
    if not raw:
        raise DataError(f"{path}: empty file (0 bytes)")
    _check_riff(path, raw)
    try:
        data, sr = sf.read(io.BytesIO(raw), dtype="float64", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for undecodable input
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise DataError(f"{path}: not a readable audio file ({reason})") from None
    if data.shape[0] == 0:
        raise DataError(f"{path}: zero-length audio (no samples)")
    if not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).sum())
        raise DataError(f"{path}: {bad} NaN or infinite samples")
    channels = data.shape[1]
    mono = data[:, 0] if channels == 1 else data.mean(axis=1)
    return Audio((mono * INT16_SCALE).astype(np.float32), int(sr), int(channels),
                 hashlib.sha256(raw).hexdigest())
