"""Reading audio files, with checks that name the file and what is wrong with it."""
from __future__ import annotations

import hashlib
import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

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


@dataclass
class AudioInfo:
    """What a file holds, without its samples (see :func:`probe_audio`).

    Attributes
    ----------
    frames : int
        Samples per channel.
    sr : int
        Sample rate in Hz.
    channels : int
    sha256 : str
        Hex SHA-256 of the file's bytes.
    """

    frames: int
    sr: int
    channels: int
    sha256: str

    @property
    def duration(self) -> float:
        return self.frames / self.sr


@dataclass
class _Pcm16:
    """Where the samples of a 16-bit PCM WAV file lie."""

    sr: int
    channels: int
    offset: int   # of the first sample in the file
    frames: int


#: WAVE_FORMAT_PCM, and WAVE_FORMAT_EXTENSIBLE whose subformat GUID is PCM
_PCM, _EXTENSIBLE = 1, 0xFFFE
_PCM_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def _scan_riff(path: Path, data: bytes) -> _Pcm16 | None:
    """Check a RIFF/WAVE file's chunks; describe it when it is plain 16-bit PCM.

    Raises DataError when the file is cut short of what its header declares. Returns
    None for anything that is not a complete little-endian 16-bit PCM WAV file (other
    formats, RIFX, streamed sizes, odd layouts): those are decoded by libsndfile.
    """
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        return None  # not a WAV header: let the decoder judge
    endian = "<" if data[:4] == b"RIFF" else ">"
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        (size,) = struct.unpack(endian + "I", data[pos + 4:pos + 8])
        if cid == b"fmt " and size >= 16 and pos + 8 + size <= len(data):
            fmt = data[pos + 8:pos + 8 + size]
        if cid == b"data":
            have = len(data) - pos - 8
            if size != 0xFFFFFFFF and size > have:
                raise DataError(
                    f"{path}: truncated WAV: header declares {size} bytes of audio, the file holds {have}")
            if endian != "<" or fmt is None or size == 0xFFFFFFFF:
                return None
            tag, channels, sr, _, align, bits = struct.unpack("<HHIIHH", fmt[:16])
            if tag == _EXTENSIBLE and len(fmt) >= 40 and fmt[26:40] == _PCM_GUID_TAIL:
                tag = struct.unpack("<H", fmt[24:26])[0]
            if tag != _PCM or bits != 16 or channels < 1 or sr < 1 or align != 2 * channels:
                return None
            return _Pcm16(sr, channels, pos + 8, size // align)
        pos += 8 + size + (size & 1)
    raise DataError(f"{path}: WAV file has no data chunk (truncated or damaged)")


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror})") from None
    if not raw:
        raise DataError(f"{path}: empty file (0 bytes)")
    return raw


def _decode(path: Path, raw: bytes, pcm: _Pcm16 | None) -> tuple[np.ndarray, int]:
    """Samples as float64 in [-1, 1), shape (frames, channels), and the sample rate."""
    if pcm is not None:
        # 16-bit PCM needs no decoder: the same values libsndfile returns, without its overhead
        ints = np.frombuffer(raw, dtype="<i2", count=pcm.frames * pcm.channels, offset=pcm.offset)
        return ints.reshape(pcm.frames, pcm.channels) / 32768.0, pcm.sr
    import soundfile as sf

    try:
        data, sr = sf.read(io.BytesIO(raw), dtype="float64", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for undecodable input
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise DataError(f"{path}: not a readable audio file ({reason})") from None
    if not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).sum())
        raise DataError(f"{path}: {bad} NaN or infinite samples")
    return data, int(sr)


def probe_audio(path: str | os.PathLike) -> AudioInfo:
    """Check an audio file as :func:`read_audio` does and describe it, decoding only if needed.

    A complete 16-bit PCM WAV file (it cannot hold NaN or Inf) is described from its
    header alone; any other file is decoded and checked sample by sample.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    AudioInfo
        ``frames``, ``sr``, ``channels`` and the file's ``sha256``.

    Raises
    ------
    DataError
        As :func:`read_audio`.
    """
    path = Path(path)
    raw = _read_bytes(path)
    pcm = _scan_riff(path, raw)
    if pcm is not None:
        frames, sr, channels = pcm.frames, pcm.sr, pcm.channels
    else:
        data, sr = _decode(path, raw, None)
        frames, channels = data.shape
    if frames == 0:
        raise DataError(f"{path}: zero-length audio (no samples)")
    return AudioInfo(int(frames), int(sr), int(channels), hashlib.sha256(raw).hexdigest())


def read_audio(path: str | os.PathLike, *, checksum: bool = True) -> Audio:
    """Read an audio file as mono float32 samples in 16-bit integer units.

    Parameters
    ----------
    path : path-like
        Any format libsndfile reads (WAV, FLAC, OGG, ...), any sample rate.
    checksum : bool
        Hash the file's bytes into ``sha256`` (``""`` when False).

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
    path = Path(path)
    raw = _read_bytes(path)
    pcm = _scan_riff(path, raw)
    if pcm is not None and pcm.channels == 1 and pcm.frames > 0:
        # mono 16-bit PCM: the integers themselves are the samples in 16-bit units
        samples = np.frombuffer(raw, dtype="<i2", count=pcm.frames, offset=pcm.offset).astype(np.float32)
        return Audio(samples, pcm.sr, 1, hashlib.sha256(raw).hexdigest() if checksum else "")
    data, sr = _decode(path, raw, pcm)
    if data.shape[0] == 0:
        raise DataError(f"{path}: zero-length audio (no samples)")
    channels = data.shape[1]
    mono = data[:, 0] if channels == 1 else data.mean(axis=1)
    return Audio((mono * INT16_SCALE).astype(np.float32), int(sr), int(channels),
                 hashlib.sha256(raw).hexdigest() if checksum else "")
