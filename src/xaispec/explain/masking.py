"""Time-frequency masking shared by LIME, SHAP and occlusion (no attribution here).

Inputs are spectrogram-like: axis 0 is frequency (rows), axis 1 time (columns); a 1D
input (e.g. 128 mel features) has a single "frequency" axis. An optional trailing
channel axis is carried along untouched.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError

BASELINES = ("min", "mean", "zero")


def _edges(size: int, bands: int) -> np.ndarray:
    """``bands + 1`` integer boundaries splitting ``size`` cells into near-equal bands."""
    if not 1 <= bands <= size:
        raise ParameterError(f"{bands} bands do not fit an axis of {size} cells (need 1 <= bands <= {size})")
    return np.linspace(0, size, bands + 1).round().astype(int)


def grid_segments(shape: tuple[int, ...], n_freq_bands: int = 8, n_time_bands: int = 8) -> np.ndarray:
    """Split a 2D (frequency x time) input into a grid of rectangles.

    Parameters
    ----------
    shape : (F, T) or (F,)
        Spatial shape of one input; for 1D inputs only ``n_freq_bands`` is used.
    n_freq_bands, n_time_bands : int
        Bands along frequency (rows) and time (columns).

    Returns
    -------
    np.ndarray, shape ``shape``, int32
        Segment id per cell, ``band_f * n_time_bands + band_t``, in
        ``[0, n_freq_bands * n_time_bands)`` (1D: ``[0, n_freq_bands)``).
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        return np.searchsorted(_edges(shape[0], n_freq_bands), np.arange(shape[0]), side="right").astype(np.int32) - 1
    if len(shape) != 2:
        raise ParameterError(f"grid segmentation needs a 1D or 2D shape, got {shape}")
    rows = np.searchsorted(_edges(shape[0], n_freq_bands), np.arange(shape[0]), side="right") - 1
    cols = np.searchsorted(_edges(shape[1], n_time_bands), np.arange(shape[1]), side="right") - 1
    return (rows[:, None] * n_time_bands + cols[None, :]).astype(np.int32)


def baseline_value(x: np.ndarray, baseline) -> np.ndarray | float:
    """The masking value for one input ``x``.

    Parameters
    ----------
    x : np.ndarray
        One input (no batch axis).
    baseline : {"min", "mean", "zero"}, float or np.ndarray
        ``"min"``: the input's minimum (silence: -80 dB after the model's scaling);
        ``"mean"``: its mean; ``"zero"``: 0; a number; or an array broadcastable to ``x``
        (e.g. a blurred copy).

    Returns
    -------
    float or np.ndarray
    """
    if isinstance(baseline, str):
        if baseline == "min":
            return float(np.min(x))
        if baseline == "mean":
            return float(np.mean(x))
        if baseline == "zero":
            return 0.0
        raise ParameterError(f"baseline={baseline!r} is not one of {list(BASELINES)}, a number or an array")
    if isinstance(baseline, np.ndarray):
        try:
            return np.broadcast_to(baseline.astype(np.float32), x.shape)
        except ValueError:
            raise ParameterError(f"baseline of shape {baseline.shape} does not fit an input of shape {x.shape}") from None
    try:
        return float(baseline)
    except (TypeError, ValueError):
        raise ParameterError(f"baseline={baseline!r} is not one of {list(BASELINES)}, a number or an array") from None


def apply_mask(x: np.ndarray, segments: np.ndarray, keep: np.ndarray, baseline="min") -> np.ndarray:
    """Perturbed copies of one input: kept segments from ``x``, the others from the baseline.

    Parameters
    ----------
    x : np.ndarray, shape (*spatial_shape) or (*spatial_shape, channels)
    segments : np.ndarray, shape (*spatial_shape), int
        Segment id per cell in ``[0, n_segments)``.
    keep : np.ndarray, shape (m, n_segments) or (n_segments,), bool
        Which segments each copy keeps.
    baseline : see :func:`baseline_value`

    Returns
    -------
    np.ndarray, shape (m, *x.shape), float32
    """
    x = np.asarray(x, dtype=np.float32)
    segments = np.asarray(segments)
    keep = np.atleast_2d(np.asarray(keep, dtype=bool))
    if x.shape[:segments.ndim] != segments.shape:
        raise ParameterError(f"segments of shape {segments.shape} do not fit an input of shape {x.shape}")
    if segments.min() < 0 or segments.max() >= keep.shape[1]:
        raise ParameterError(f"segment ids span [{segments.min()}, {segments.max()}] but keep has {keep.shape[1]} columns")
    # (m, *spatial) keep flags, with singleton axes for any channel axis
    cells = keep[:, segments].reshape(len(keep), *segments.shape, *([1] * (x.ndim - segments.ndim)))
    return np.where(cells, x[None], np.asarray(baseline_value(x, baseline), dtype=np.float32)[None]).astype(np.float32)


def _pair(value, ndim: int, name: str) -> tuple[int, ...]:
    t = (value,) * ndim if np.isscalar(value) else tuple(value)
    if len(t) != ndim or any(int(v) < 1 for v in t):
        raise ParameterError(f"{name}={value!r} must be a positive integer or {ndim} of them")
    return tuple(int(v) for v in t)


def _starts(size: int, patch: int, stride: int) -> list[int]:
    """Patch starts covering ``[0, size)``: every ``stride``, plus one flush with the end."""
    last = max(size - patch, 0)
    starts = list(range(0, last + 1, stride))
    if starts[-1] != last:
        starts.append(last)
    return starts


def patch_slices(shape: tuple[int, ...], patch=16, stride=None) -> list[tuple[slice, ...]]:
    """Rectangular patches sliding over a 1D or 2D input, covering every cell.

    Parameters
    ----------
    shape : (F, T) or (F,)
    patch : int or tuple
        Patch size per axis (clipped to the shape).
    stride : int, tuple or None
        Step per axis; None = half the patch (at least 1).

    Returns
    -------
    list of tuple of slice
        One index tuple per patch; the last patch of each axis ends at the border.
    """
    shape = tuple(int(s) for s in shape)
    size = tuple(min(p, s) for p, s in zip(_pair(patch, len(shape), "patch"), shape))
    step = tuple(max(p // 2, 1) for p in size) if stride is None else _pair(stride, len(shape), "stride")
    axes = [_starts(s, p, st) for s, p, st in zip(shape, size, step)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(shape))
    return [tuple(slice(int(a), int(a) + p) for a, p in zip(start, size)) for start in grid]


def occlude(x: np.ndarray, slices: list[tuple[slice, ...]], baseline="min") -> np.ndarray:
    """Copies of one input with one patch each set to the baseline.

    Parameters
    ----------
    x : np.ndarray, shape (*spatial_shape) or (*spatial_shape, channels)
    slices : list of index tuples, from :func:`patch_slices`
    baseline : see :func:`baseline_value`

    Returns
    -------
    np.ndarray, shape (len(slices), *x.shape), float32
    """
    x = np.asarray(x, dtype=np.float32)
    base = baseline_value(x, baseline)
    out = np.repeat(x[None], len(slices), axis=0)
    for i, index in enumerate(slices):
        out[(i, *index)] = base if np.isscalar(base) else base[index]
    return out
