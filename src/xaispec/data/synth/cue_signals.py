"""The planted cues as signals: class bands and rates, drawing a cue, and its samples.

A cue is described by a plain dict (stored in the corpus manifest) that holds everything
needed to make its samples again with :func:`cue_signal`: kind, class, onset and span in
samples, amplitude, frequencies, band edges, click rate, noise seed. Four kinds
(:data:`CUE_KINDS`) put the label in different places of the time-frequency plane:

``tone``
    a short sinusoid burst (narrow in time and frequency); class = its frequency band.
``noise``
    band-limited Gaussian noise (wide in time, narrow in frequency); class = its band.
``clicks``
    a click train (narrow in time, wide in frequency); class = its rate, ``5 * 2**k`` Hz.
``pair``
    two tone bursts, one in the low and one in the high band of a 2-class split;
    class 0 = low then high, class 1 = high then low: only the order carries the label.

Every frequency lies below :data:`MAX_FREQUENCY` (models see the clips at 8 kHz).
Amplitudes are in int16 units (full scale 32768), so ``np.round(cue_signal(cue, ...))``
gives the stored cue samples exactly.

The fields of a cue dict (times in samples, frequencies in Hz):

* every kind: ``kind``, ``class``, ``sample_rate``, ``onset`` (first sample in the clip),
  ``duration`` (samples from the onset to the end of the cue), ``amplitude`` (the peak of
  the waveform before its fades, in int16 units: the tone's sine amplitude, the noise's
  largest sample, the height of a click);
* ``tone``: ``frequency``, ``band`` (the class band ``[low, high]``), ``ramp`` (samples of
  each raised-cosine fade);
* ``noise``: ``band``, ``noise_seed`` (seeds the white noise masked to the band), ``ramp``;
* ``clicks``: ``rate`` (clicks start at ``onset + round(j * sample_rate / rate)``),
  ``pulse`` (samples of each click);
* ``pair``: ``frequencies`` and ``bands`` of the first and second burst, ``order``
  (``"low-high"`` or ``"high-low"``), ``burst`` and ``gap`` (samples), ``ramp``.
"""
from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from .checks import check_int, check_number

__all__ = ["CUE_DEFAULTS", "CUE_KINDS", "DEFAULT_BAND", "MAX_FREQUENCY", "check_band", "check_kind", "class_bands",
           "click_rates", "cue_classes", "cue_signal", "cue_span", "draw_cue", "pulse_samples"]

#: the kinds of planted cue
CUE_KINDS = ("tone", "noise", "clicks", "pair")
#: per kind: ``duration`` in seconds of the cue (of each burst, and the gap between them, for
#: ``pair``), ``ramp`` seconds of the raised-cosine fades at both ends of each sound
CUE_DEFAULTS: dict[str, dict[str, float]] = {
    "tone": {"duration": 0.1, "ramp": 0.01},
    "noise": {"duration": 0.5, "ramp": 0.01},
    "clicks": {"duration": 0.5, "ramp": 0.0},
    "pair": {"duration": 0.1, "ramp": 0.01},
}
#: Hz: every cue frequency stays below this (models see the clips resampled to 8 kHz)
MAX_FREQUENCY = 3800.0
#: Hz: the range the class bands split by default
DEFAULT_BAND = (300.0, 3600.0)
#: share of each class's log-frequency segment its band takes (the middle of it)
BAND_SHARE = 0.6
#: Hz: the click rate of class 0; class k clicks at ``CLICK_RATE * 2**k``
CLICK_RATE = 5.0
#: most classes a cue corpus has (the class is one digit of the file name)
MAX_CLASSES = 10

_KEYS = {"tone": ("frequency", "band", "ramp"), "noise": ("band", "noise_seed", "ramp"),
         "clicks": ("rate", "pulse"), "pair": ("frequencies", "bands", "burst", "gap", "ramp")}


def check_kind(kind) -> str:
    """Refuse a kind that is not one of :data:`CUE_KINDS`."""
    if kind not in CUE_KINDS:
        raise ParameterError(f"kind must be one of {list(CUE_KINDS)}, got {kind!r}")
    return kind


def cue_classes(kind: str, classes: int) -> int:
    """How many classes a cue kind has: ``classes``, but always 2 for ``pair``.

    Parameters
    ----------
    kind : str
        One of :data:`CUE_KINDS`.
    classes : int
        Classes asked for, 2..10.
    """
    check_kind(kind)
    check_int("classes", classes, 2, MAX_CLASSES)
    return 2 if kind == "pair" else int(classes)


def check_band(band) -> tuple[float, float]:
    """``band`` as ``(low, high)`` Hz; refuse anything but two numbers ``0 < low < high <= 3800``."""
    try:
        low, high = band
    except (TypeError, ValueError):
        raise ParameterError(f"band must be two frequencies (low, high) in Hz, got {band!r}") from None
    low = check_number("band low edge", low, 1.0, MAX_FREQUENCY)
    high = check_number("band high edge", high, 1.0, MAX_FREQUENCY)
    if not low < high:
        raise ParameterError(f"band must rise (low < high), got {band!r}")
    return low, high


def class_bands(classes: int, *, band=DEFAULT_BAND) -> np.ndarray:
    """The frequency band of every class.

    ``band`` is split into ``classes`` log-spaced segments; a class's band is the middle
    :data:`BAND_SHARE` (60 %) of its segment in log frequency, so neighbouring bands are
    separated by gaps.

    Parameters
    ----------
    classes : int
        Number of classes, 1..10.
    band : (float, float)
        Hz, the range split, ``0 < low < high <= 3800``.

    Returns
    -------
    numpy.ndarray
        Shape (classes, 2): low and high edge (Hz) of each class's band, rising.
    """
    check_int("classes", classes, 1, MAX_CLASSES)
    low, high = check_band(band)
    edges = np.log(low) + np.log(high / low) * np.arange(classes + 1) / classes
    margin = (1.0 - BAND_SHARE) / 2 * (edges[1] - edges[0])
    return np.exp(np.stack([edges[:-1] + margin, edges[1:] - margin], axis=1))


def click_rates(classes: int) -> np.ndarray:
    """Click rates (Hz) of the classes, ``5 * 2**k`` for ``k = 0..classes-1``; shape (classes,)."""
    check_int("classes", classes, 1, MAX_CLASSES)
    return CLICK_RATE * 2.0 ** np.arange(classes)


def pulse_samples(sample_rate: int) -> int:
    """Samples of one click: ``1/8000`` s (2 at 16 kHz), so most of its energy stays below 4 kHz."""
    return max(1, int(round(sample_rate / 8000)))


def cue_span(kind: str, duration: float, sample_rate: int) -> int:
    """Samples from a cue's onset to its end (for ``pair``: two bursts and the gap, 3 x ``duration``)."""
    n = int(round(duration * sample_rate))
    return 3 * n if check_kind(kind) == "pair" else n


def _ramped(n: int, ramp: int) -> np.ndarray:
    """A window of ``n`` ones with raised-cosine fades of ``ramp`` samples at both ends."""
    w = np.ones(n)
    if ramp > 0:
        fade = 0.5 * (1.0 - np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp))
        w[:ramp] = fade
        w[n - ramp:] = fade[::-1]
    return w


def _tone_frequency(rng: np.random.Generator, band, burst_seconds: float) -> float:
    """A frequency drawn log-uniformly in ``band``, kept ``2 / burst_seconds`` Hz (the burst's
    spectral spread; at most a quarter of the band) inside its edges."""
    low, high = band
    margin = min(2.0 / burst_seconds, (high - low) / 4)
    return round(float(np.exp(rng.uniform(np.log(low + margin), np.log(high - margin)))), 3)


def draw_cue(kind: str, cue_class: int, rng: np.random.Generator, *, classes: int, band, duration: float,
             sample_rate: int, length: int) -> dict:
    """Draw a cue of ``cue_class``: its onset, frequencies and noise seed, amplitude 1.0.

    Parameters
    ----------
    kind : str
        One of :data:`CUE_KINDS`.
    cue_class : int
        The class, ``0..cue_classes(kind, classes)-1``.
    rng : numpy.random.Generator
        The clip's generator; the onset is drawn first, uniformly so the cue fits in ``length``.
    classes, band : int, (float, float)
        The class split (``pair`` always uses a 2-class split of ``band``).
    duration : float
        Seconds of the cue (of each burst and the gap for ``pair``).
    sample_rate, length : int
        The clip's rate and length in samples.

    Returns
    -------
    dict
        The cue, as :func:`cue_signal` takes it (``amplitude`` still to be set by the mixer).
    """
    n_classes = cue_classes(kind, classes)
    check_int("cue class", cue_class, 0, n_classes - 1)
    span = cue_span(kind, duration, sample_rate)
    if span > length:
        raise ParameterError(f"a {kind} cue of {span} samples does not fit a clip of {length} samples")
    ramp = int(round(CUE_DEFAULTS[kind]["ramp"] * sample_rate))
    cue = {"kind": kind, "class": int(cue_class), "sample_rate": int(sample_rate),
           "onset": int(rng.integers(0, length - span + 1)), "duration": span, "amplitude": 1.0}
    if kind == "clicks":
        return {**cue, "rate": float(click_rates(n_classes)[cue_class]), "pulse": pulse_samples(sample_rate)}
    bands = class_bands(n_classes, band=band).round(3)
    if kind == "tone":
        return {**cue, "band": bands[cue_class].tolist(), "ramp": ramp,
                "frequency": _tone_frequency(rng, bands[cue_class], duration)}
    if kind == "noise":
        return {**cue, "band": bands[cue_class].tolist(), "ramp": ramp,
                "noise_seed": int(rng.integers(0, 2**31))}
    order = [0, 1] if cue_class == 0 else [1, 0]
    burst = int(round(duration * sample_rate))
    return {**cue, "bands": [bands[i].tolist() for i in order], "order": "low-high" if cue_class == 0 else "high-low",
            "frequencies": [_tone_frequency(rng, bands[i], duration) for i in order],
            "burst": burst, "gap": span - 2 * burst, "ramp": ramp}


def _tone(n: int, frequency: float, ramp: int, sample_rate: int) -> np.ndarray:
    """A sine of ``frequency`` starting at phase 0, peak 1, with raised-cosine fades."""
    return np.sin(2 * np.pi * frequency * np.arange(n) / sample_rate) * _ramped(n, ramp)


def _noise(n: int, band, seed: int, ramp: int, sample_rate: int) -> np.ndarray:
    """White Gaussian noise (seeded) masked to ``band`` in its FFT, peak 1 before the fades."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum[(freqs < band[0]) | (freqs > band[1])] = 0.0
    y = np.fft.irfft(spectrum, n)
    peak = np.abs(y).max()
    return (y / peak if peak > 0 else y) * _ramped(n, ramp)


def _clicks(n: int, rate: float, pulse: int, sample_rate: int) -> np.ndarray:
    """Pulses of ``pulse`` samples and height 1 at ``round(j * sample_rate / rate)``, the first at 0."""
    y = np.zeros(n)
    starts = np.round(np.arange(0.0, n / sample_rate * rate + 1) * sample_rate / rate).astype(int)
    for s in starts[starts + pulse <= n]:
        y[s:s + pulse] = 1.0
    return y


def _shape(cue: dict, sample_rate: int) -> np.ndarray:
    """The cue's span with peak amplitude 1 (before its fades)."""
    kind, n = cue["kind"], int(cue["duration"])
    if kind == "tone":
        return _tone(n, cue["frequency"], int(cue["ramp"]), sample_rate)
    if kind == "noise":
        return _noise(n, cue["band"], int(cue["noise_seed"]), int(cue["ramp"]), sample_rate)
    if kind == "clicks":
        return _clicks(n, cue["rate"], int(cue["pulse"]), sample_rate)
    burst, gap = int(cue["burst"]), int(cue["gap"])
    y = np.zeros(n)
    y[:burst] = _tone(burst, cue["frequencies"][0], int(cue["ramp"]), sample_rate)
    y[burst + gap:2 * burst + gap] = _tone(burst, cue["frequencies"][1], int(cue["ramp"]), sample_rate)
    return y


def cue_signal(cue: dict, *, sample_rate: int, length: int) -> np.ndarray:
    """The samples of a cue in a clip of ``length`` samples, in int16 units.

    Parameters
    ----------
    cue : dict
        A cue as recorded in the manifest (see :func:`draw_cue`); its ``onset`` may be
        changed to move the cue in time.
    sample_rate : int
        Hz; must be the cue's own ``sample_rate``.
    length : int
        Samples of the clip; the cue must fit (``onset + duration <= length``).

    Returns
    -------
    numpy.ndarray
        float64, shape (length,): zero outside the cue. ``np.round(...).astype(np.int16)``
        gives the stored cue file's samples exactly.

    Raises
    ------
    ParameterError
        For a cue of an unknown kind or lacking a field, another sample rate, or an
        onset that does not fit the clip.
    """
    if not isinstance(cue, dict):
        raise ParameterError(f"cue must be a dict as recorded in the manifest, got {cue!r}")
    check_kind(cue.get("kind"))
    missing = [k for k in ("onset", "duration", "amplitude", "sample_rate", *_KEYS[cue["kind"]]) if k not in cue]
    if missing:
        raise ParameterError(f"the {cue['kind']} cue lacks {missing}: {cue!r}")
    if cue["sample_rate"] != sample_rate:
        raise ParameterError(f"sample_rate={sample_rate!r} differs from the cue's {cue['sample_rate']!r} Hz")
    check_int("length", length, 1)
    onset, span = cue["onset"], cue["duration"]
    check_int("cue duration", span, 1, length)
    check_int("cue onset", onset, 0, length - span)
    amplitude = check_number("cue amplitude", cue["amplitude"])
    y = np.zeros(length)
    y[onset:onset + span] = amplitude * _shape(cue, sample_rate)
    return y
