"""Spectrograms and features, one representation per function.

Array first, keyword-only options. Every function is pure: it gets samples and
returns arrays; reading files and storing results happen elsewhere.

Representations
---------------
``alexnet``
    The AudioMNIST study's 227 x 227 dB STFT spectrogram of a 1-s, 8-kHz clip.
``mel128``
    The emotion study's 128 mean mel-band powers of a 2.5-s excerpt at 22,050 Hz.
``mel2d``
    A fixed-size log-mel image (40 bands x 108 frames) of the same excerpt.
"""
from __future__ import annotations

import hashlib
from math import ceil

import numpy as np

from ..errors import DataError, ParameterError

#: the AudioMNIST study's constants
ALEXNET_SR = 8000
ALEXNET_LEN = 8000          # one second at 8 kHz
NPERSEG, NOVERLAP = 455, 420
#: hop between STFT frames (35 samples) and the STFT frame of the spectrogram's first column
HOP, FIRST_FRAME = NPERSEG - NOVERLAP, 2
ALEXNET_SHAPE = (227, 227)

#: the emotion study's constants
MEL_SR = 22050
#: the resampler of the emotion study's ``librosa.load(path, sr=22050, ...)``: named, because
#: librosa's default changed between versions and the study's version is unknown; soxr_hq is
#: librosa 0.11's default
MEL_RES_TYPE = "soxr_hq"
MEL_OFFSET = 0.6
MEL_DURATION = 2.5
MEL_BANDS = 128
MEL2D_BANDS = 40
MEL2D_FRAMES = 1 + int(MEL_DURATION * MEL_SR) // 512   # 108 with librosa's centred frames
NOISE_FACTOR = 0.035

MODES = ("exact", "fast")
LONG_CLIPS = ("crop", "error")


def sample_rng(seed: int, sample_id: str) -> np.random.Generator:
    """A generator seeded by ``(seed, sample_id)``: the same draw whatever the worker or order."""
    digest = hashlib.sha256(str(sample_id).encode("utf-8")).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


def resampled_length(n: int, sr: int, target_sr: int) -> int:
    """Length of ``n`` samples at ``sr`` resampled to ``target_sr`` (librosa's rule: ceil)."""
    return int(ceil(n * target_sr / sr))


def resample(x: np.ndarray, *, sr: int, target_sr: int, mode: str = "exact") -> np.ndarray:
    """Resample a mono clip.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
    sr, target_sr : int
    mode : {"exact", "fast"}
        ``exact`` is the study's ``librosa.resample(res_type="scipy")`` (FFT method),
        ``fast`` the polyphase ``soxr`` resampler trimmed or padded to the same length.

    Returns
    -------
    np.ndarray, shape (ceil(n * target_sr / sr),), float32
    """
    if mode not in MODES:
        raise ParameterError(f"mode={mode!r} is not one of {list(MODES)}")
    x = np.asarray(x, dtype=np.float32)
    if sr == target_sr:
        return x
    if mode == "exact":
        import librosa

        return librosa.resample(x, orig_sr=sr, target_sr=target_sr, res_type="scipy")
    import soxr

    y = soxr.resample(x, sr, target_sr, quality="HQ").astype(np.float32, copy=False)
    n = resampled_length(len(x), sr, target_sr)
    if len(y) >= n:
        return y[:n]
    return np.pad(y, (0, n - len(y)))


def loudest_window(x: np.ndarray, *, length: int) -> int:
    """Start of the ``length``-sample window of ``x`` with the most energy (first if tied)."""
    energy = np.concatenate(([0.0], np.cumsum(np.asarray(x, dtype=np.float64) ** 2)))
    sums = energy[length:] - energy[:-length]
    return int(np.argmax(sums))


def fit_clip(x: np.ndarray, *, length: int = ALEXNET_LEN, long_clips: str = "crop",
             name: str = "clip") -> tuple[np.ndarray, bool]:
    """Crop a clip longer than ``length`` to its most energetic window.

    Returns
    -------
    x : np.ndarray, shape (min(n, length),)
    cropped : bool

    Raises
    ------
    DataError
        When the clip is longer and ``long_clips="error"`` (the study's behaviour).
    """
    if long_clips not in LONG_CLIPS:
        raise ParameterError(f"long_clips={long_clips!r} is not one of {list(LONG_CLIPS)}")
    if len(x) <= length:
        return x, False
    if long_clips == "error":
        raise DataError(f"{name}: {len(x)} samples at 8 kHz, longer than {length} (1 s); "
                        "use --long-clips crop to keep its most energetic second")
    start = loudest_window(x, length=length)
    return x[start:start + length], True


def embed(x: np.ndarray, *, offset: int, length: int = ALEXNET_LEN) -> np.ndarray:
    """Place ``x`` in a zero vector of ``length`` samples at ``offset`` (float64, as the study)."""
    if offset < 0 or offset + len(x) > length:
        raise ParameterError(f"offset={offset} does not fit a clip of {len(x)} samples in {length}")
    out = np.zeros(length)
    out[offset:offset + len(x)] = x
    return out


def embedded_second(samples: np.ndarray, *, sr: int, offset: int, mode: str = "exact",
                    name: str = "clip") -> np.ndarray:
    """A clip as the AlexNet spectrogram sees it: resampled to 8 kHz, cropped to its most
    energetic second if longer, and embedded in one second of zeros at ``offset``.

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
    sr : int
    offset : int
    mode : {"exact", "fast"}
        The resampler (see :func:`resample`).
    name : str
        Names the clip in errors.

    Returns
    -------
    np.ndarray, shape (8000,), float64
    """
    x = resample(samples, sr=sr, target_sr=ALEXNET_SR, mode=mode)
    x, _ = fit_clip(x, long_clips="crop", name=name)
    return embed(x, offset=offset)


def sample_columns() -> np.ndarray:
    """The spectrogram column each sample of an embedded second belongs to, shape (8000,).

    Column ``j`` is STFT frame ``j + 2``, centred on sample ``35 (j + 2)``; a sample belongs
    to the column whose centre is nearest (samples before the first centre to column 0,
    after the last to column 226). Pools waveform values into the spectrogram's time axis.
    """
    return np.clip(np.rint(np.arange(ALEXNET_LEN) / HOP - FIRST_FRAME).astype(int), 0, ALEXNET_SHAPE[1] - 1)


def draw_offset(n: int, rng: np.random.Generator, *, length: int = ALEXNET_LEN) -> int:
    """Random embedding offset in ``[0, length - n)`` like the study's ``randint`` (0 if full)."""
    return int(rng.integers(0, length - n)) if n < length else 0


def alexnet_spectrogram(x: np.ndarray) -> np.ndarray:
    """The study's dB spectrogram of one embedded 8-kHz second.

    The same operations, in the same order and precision, as the study's
    ``librosa.amplitude_to_db(abs(scipy.signal.stft(x, ...)[2])[0:227, 2:-1], ref=np.max)``,
    restricted to the frames and bins it keeps: the float32 result is bit-identical to
    the study's, in about half the time.

    Parameters
    ----------
    x : np.ndarray, shape (8000,)

    Returns
    -------
    np.ndarray, shape (227, 227), float32
        Frequency rows (0 to ~3.98 kHz), time columns; values in [-80, 0] dB.
    """
    import scipy.fft

    window = _hann()
    x = np.asarray(x, dtype=np.float64)
    # scipy.signal.stft: windowed frames, real FFT, then scaled by sqrt(1 / sum(window)^2);
    # frames wholly in the zero padding around a short clip transform to exact zeros, so
    # only the others are computed and the zeros' cells filled in with their known value
    lo, hi = _active_frames(x)
    z = scipy.fft.rfft(window * _study_frames(x)[lo:hi], axis=-1)
    z *= np.sqrt(1.0 / window.sum() ** 2)
    magnitude = np.abs(z[:, :ALEXNET_SHAPE[0]].T)
    # librosa.amplitude_to_db(..., ref=np.max): power_to_db of the squared magnitude
    amin, top_db = 1e-5, 80.0
    ref = np.max(magnitude, initial=0.0)
    power = np.square(magnitude, out=magnitude)
    ref_db = 10.0 * np.log10(np.maximum(amin ** 2, ref ** 2))
    db = np.empty(ALEXNET_SHAPE)
    db[:, :lo] = db[:, hi:] = 10.0 * np.log10(np.maximum(amin ** 2, np.zeros(1)))[0] - ref_db
    db[:, lo:hi] = 10.0 * np.log10(np.maximum(amin ** 2, power))
    db[:, lo:hi] -= ref_db
    db = np.maximum(db, db.max() - top_db)
    return db.astype(np.float32)


_WINDOWS: dict = {}


def _hann(dtype=None) -> np.ndarray:
    """The study's periodic Hann window of ``NPERSEG`` samples: float64 as scipy uses it, or
    (``dtype`` given) divided by its sum in that precision, as the fast mode applies it."""
    if dtype not in _WINDOWS:
        import scipy.signal

        window = scipy.signal.get_window("hann", NPERSEG)
        _WINDOWS[dtype] = window if dtype is None else (window / window.sum()).astype(dtype)
    return _WINDOWS[dtype]


def _active_frames(x: np.ndarray) -> tuple[int, int]:
    """The kept frames ``[lo, hi)`` that overlap a nonzero sample of ``x``; the others are
    all zeros (their spectrum is exactly zero), which saves most of the work for short clips."""
    nonzero = np.flatnonzero(x)
    if not len(nonzero):
        return 0, 0
    hop, half = NPERSEG - NOVERLAP, NPERSEG // 2
    # kept frame j covers x[hop * j - (half - 2 * hop) : hop * j - (half - 2 * hop) + NPERSEG]
    shift = half - 2 * hop
    lo = max(0, (int(nonzero[0]) + shift - NPERSEG) // hop + 1)
    hi = min(ALEXNET_SHAPE[1], (int(nonzero[-1]) + shift) // hop + 1)
    return lo, hi


def _study_frames(x: np.ndarray) -> np.ndarray:
    """The frames of an embedded second that become the study's 227 columns (a strided view).

    ``scipy.signal.stft`` pads ``nperseg // 2`` zeros at each side, then up to a whole number
    of hops, and frames every ``hop`` samples; the study keeps frames 2 .. 228 (``[2:-1]``).

    Parameters
    ----------
    x : np.ndarray, shape (8000,)

    Returns
    -------
    np.ndarray, shape (227, 455), read-only view of a padded copy of ``x``
    """
    hop = NPERSEG - NOVERLAP
    first = 2 * hop
    padded = np.zeros(first + (ALEXNET_SHAPE[1] - 1) * hop + NPERSEG, dtype=x.dtype)
    half = NPERSEG // 2
    padded[half:half + len(x)] = x
    return np.lib.stride_tricks.as_strided(padded[first:], shape=(ALEXNET_SHAPE[1], NPERSEG),
                                           strides=(hop * padded.itemsize, padded.itemsize), writeable=False)


def stft(x: np.ndarray) -> np.ndarray:
    """The study's complex STFT of an embedded 8-kHz second (455-sample Hann, 420 overlap).

    Parameters
    ----------
    x : np.ndarray, shape (8000,)

    Returns
    -------
    np.ndarray, shape (228, 230), complex
        Frequency bins x frames; ``[0:227, 2:-1]`` are the spectrogram's cells.
    """
    import scipy.signal

    return scipy.signal.stft(x, ALEXNET_SR, nperseg=NPERSEG, noverlap=NOVERLAP, window="hann")[2]


def alexnet_spectrogram_fast(x: np.ndarray) -> np.ndarray:
    """Single-precision equivalent of :func:`alexnet_spectrogram` for the fast mode.

    Same frames, window, scaling and dB conversion in float32; on the same samples it
    agrees with the exact function to within 0.01 dB.

    Parameters
    ----------
    x : np.ndarray, shape (8000,)

    Returns
    -------
    np.ndarray, shape (227, 227), float32
    """
    import scipy.fft

    x = np.asarray(x, dtype=np.float32)
    lo, hi = _active_frames(x)
    z = scipy.fft.rfft(_study_frames(x)[lo:hi] * _hann(np.float32), axis=-1)[:, :ALEXNET_SHAPE[0]]
    power = np.square(z.real)
    power += np.square(z.imag)
    db = np.empty(ALEXNET_SHAPE[::-1], dtype=np.float32)   # frames x bins, returned transposed
    db[:lo] = db[hi:] = np.log10(np.full(1, 1e-10, np.float32))[0]  # frames of zeros: the floor
    np.maximum(power, 1e-10, out=power)
    np.log10(power, out=db[lo:hi])
    db *= 10.0
    db -= db.max()                       # ref = max
    np.maximum(db, -80.0, out=db)        # top_db = 80
    return db.T


def mel_excerpt(y: np.ndarray) -> np.ndarray:
    """Zero-pad a 22,050-Hz excerpt to the full 2.5 s (for fixed-size images).

    Parameters
    ----------
    y : np.ndarray, shape (n,)

    Returns
    -------
    np.ndarray, shape (55125,)
    """
    n = int(MEL_DURATION * MEL_SR)
    return np.pad(y[:n], (0, max(0, n - len(y))))


def mel_band_centres(n_mels: int = MEL_BANDS, *, sr: int = MEL_SR) -> np.ndarray:
    """Centre frequency in Hz of each band of ``librosa.feature.melspectrogram(sr=sr, n_mels=n_mels)``
    (Slaney mel scale, 0 Hz to ``sr / 2``): band ``i``'s triangle peaks at the ``i + 1``-th of
    ``n_mels + 2`` equally spaced mel points, shape (n_mels,)."""
    import librosa

    return librosa.mel_frequencies(n_mels + 2, fmin=0.0, fmax=sr / 2.0)[1:-1]


def mel128(y: np.ndarray, *, sr: int = MEL_SR) -> np.ndarray:
    """The emotion study's feature vector: mean over time of the 128-band mel power spectrogram.

    Parameters
    ----------
    y : np.ndarray, shape (n,)

    Returns
    -------
    np.ndarray, shape (128,), float32
    """
    import librosa

    return np.mean(librosa.feature.melspectrogram(y=y, sr=sr).T, axis=0).astype(np.float32)


def add_noise(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The emotion study's augmentation: Gaussian noise of amplitude 0.035 * U(0,1) * max(y).

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    rng : np.random.Generator
        Seeded per sample (see :func:`sample_rng`).

    Returns
    -------
    np.ndarray, shape (n,)
    """
    amplitude = NOISE_FACTOR * rng.uniform() * np.amax(y)
    return y + amplitude * rng.normal(size=y.shape[0])


def mel2d(y: np.ndarray, *, sr: int = MEL_SR, n_mels: int = MEL2D_BANDS) -> np.ndarray:
    """A fixed-size log-mel image of a 2.5-s excerpt.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
        At most 2.5 s; shorter excerpts are zero-padded.

    Returns
    -------
    np.ndarray, shape (n_mels, 108), float32
        dB relative to the excerpt's maximum, in [-80, 0].
    """
    import librosa

    s = librosa.feature.melspectrogram(y=mel_excerpt(y), sr=sr, n_mels=n_mels)
    return librosa.power_to_db(s, ref=np.max).astype(np.float32)
