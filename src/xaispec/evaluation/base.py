"""What every metric shares: the model queried in batches (and counted), inputs, baselines, one result type.

A metric measures explanations of one batch: inputs ``x`` (n, *spatial_shape) in the model's
input space (after the profile's scaling), their maps (n, *spatial_shape) and the explained
classes ``targets`` (n,). "Removing" a cell means setting it to the ``baseline``: for a dB
spectrogram the silence floor (-80 dB after the fold's scaling), for standardised mel
features the training mean (0) -- never a zero fill in dB, which is the *loudest* value.

Nothing here imports TensorFlow: a Keras model is queried through :func:`xaispec.explain.predict`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..explain import predict


class Forward:
    """A classifier's class probabilities for batches of inputs, with the rows it was asked for counted.

    Parameters
    ----------
    model : keras.Model or callable
        A Keras model with one input (n, *input_shape) and a softmax output (n, n_classes),
        or any callable ``f(x) -> (m, n_classes)`` taking inputs of shape (m, *spatial_shape)
        (the closed-form models of the tests).
    batch_size : int
        Rows per model call.

    Attributes
    ----------
    rows : int
        Inputs evaluated so far: the metric's cost in forward passes.
    calls : int
        Model calls so far.
    """

    def __init__(self, model, *, batch_size: int = 64):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ParameterError(f"batch_size={batch_size!r} must be an integer >= 1")
        self.model = model
        self.batch_size = int(batch_size)
        self.keras = hasattr(model, "predict_on_batch")
        if not self.keras and not callable(model):
            raise ParameterError(f"model {model!r} is neither a Keras model nor a callable")
        # a one-channel model gets the channel axis the maps do not have: (m, 227, 227) -> (m, 227, 227, 1)
        shape = tuple(model.inputs[0].shape) if self.keras else ()
        self.channel = len(shape) >= 3 and shape[-1] == 1
        self.rows = 0
        self.calls = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Probabilities, shape (m, n_classes), float64, for inputs (m, *spatial_shape)."""
        x = np.asarray(x, dtype=np.float32)
        self.rows += len(x)
        # the fewest calls of at most batch_size rows, all of about the same size (no small last call)
        size = math.ceil(len(x) / max(1, math.ceil(len(x) / self.batch_size)))
        if self.keras:
            self.calls += math.ceil(len(x) / size) if len(x) else 0
            out = predict(self.model, x[..., None] if self.channel else x, batch_size=max(1, size))
            return np.asarray(out, dtype=np.float64)
        out = [np.asarray(self.model(x[i:i + size]), dtype=np.float64) for i in range(0, len(x), max(1, size))]
        self.calls += len(out)
        return np.concatenate(out) if out else np.zeros((0, 0))

    def scores(self, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The target class's probability per row, shape (m,)."""
        return self(x)[np.arange(len(x)), np.asarray(targets)]


def as_forward(model, *, batch_size: int = 64) -> Forward:
    """``model`` as a :class:`Forward` (a Forward is returned as it is)."""
    return model if isinstance(model, Forward) else Forward(model, batch_size=batch_size)


def check_batch(x, maps, targets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x`` and ``maps`` as float arrays of one shape (n, *spatial_shape) and ``targets`` as (n,) ints.

    A trailing channel axis of size 1 on ``x`` is dropped.

    Raises
    ------
    ParameterError
        When the shapes disagree or the batch is empty.
    """
    x = np.asarray(x, dtype=np.float32)
    maps = np.asarray(maps, dtype=np.float64)
    if x.ndim == maps.ndim + 1 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.shape != maps.shape or len(x) == 0:
        raise ParameterError(f"inputs of shape {x.shape} and maps of shape {maps.shape} must be one "
                             f"non-empty batch of the same shape")
    t = np.asarray(targets).reshape(-1)
    if len(t) != len(x) or not np.issubdtype(t.dtype, np.integer):
        raise ParameterError(f"targets {t.tolist()[:10]} must be {len(x)} class indices")
    return x, maps, t.astype(np.int64)


def baselines(x: np.ndarray, baseline) -> np.ndarray:
    """The "removed" value of every cell, shape ``x.shape``.

    Parameters
    ----------
    x : np.ndarray, shape (n, *spatial_shape)
    baseline : float, "min", np.ndarray of shape (*spatial_shape) or (n, *spatial_shape)
        A number (the silence floor in the model's input space), ``"min"`` (each input's
        minimum), or an array of per-cell values.
    """
    if isinstance(baseline, str):
        if baseline != "min":
            raise ParameterError(f"baseline={baseline!r} must be a number, 'min' or an array")
        return np.broadcast_to(x.reshape(len(x), -1).min(axis=1).reshape(-1, *([1] * (x.ndim - 1))), x.shape)
    b = np.asarray(baseline, dtype=np.float32)
    try:
        return np.broadcast_to(b, x.shape)
    except ValueError:
        raise ParameterError(f"baseline of shape {b.shape} does not fit inputs of shape {x.shape}") from None


def describe_baseline(baseline) -> Any:
    """The baseline as it is written into result files."""
    if isinstance(baseline, str):
        return baseline
    b = np.asarray(baseline)
    return float(b) if b.ndim == 0 else {"array": list(b.shape), "mean": float(b.mean())}


def rng_of(seed) -> np.random.Generator:
    """A generator from an int seed (or a Generator, returned as it is)."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


@dataclass
class Score:
    """One metric on one batch of explanations: the result type of every metric.

    Attributes
    ----------
    metric : str
        The field's name of the metric (``"deletion_auc"``, ``"aopc_morf"``, ...).
    values : np.ndarray, shape (n,)
        One value per sample (NaN where undefined, e.g. a correlation of a constant map).
    higher_is_better : bool or None
        Direction of "more faithful / more sane"; None where no direction is implied.
    params : dict
        Baseline, steps, seed and every other setting the values depend on.
    forward : int
        Rows run through the model by the call that computed it (explanations recomputed count
        too); metrics computed in one call (a mask's AI, AD, AG, FF and Fid-In; the three
        randomisation similarities) share the same rows.
    curves : np.ndarray or None, shape (n, points)
        The curve behind the value, when there is one, with its x axis in ``axis``.
    axis : np.ndarray or None, shape (points,)
    examples : np.ndarray or None, shape (k, *spatial_shape)
        Maps behind the value, for pictures (the randomisation check: the first sample's map
        of the trained model, then after each layer is re-initialised).
    """

    metric: str
    values: np.ndarray
    higher_is_better: bool | None
    params: dict = field(default_factory=dict)
    forward: int = 0
    curves: np.ndarray | None = None
    axis: np.ndarray | None = None
    examples: np.ndarray | None = None

    def __post_init__(self):
        self.values = np.asarray(self.values, dtype=np.float64).reshape(-1)

    def mean(self) -> float:
        """Mean over the samples where the metric is defined (NaN if none)."""
        v = self.values[np.isfinite(self.values)]
        return float(v.mean()) if len(v) else float("nan")

    def summary(self) -> dict:
        """A JSON-able record: metric, direction, mean, per-sample values, params, forward rows."""
        clean = lambda v: None if not np.isfinite(v) else float(v)  # noqa: E731 (JSON has no NaN)
        out = {"metric": self.metric, "higher_is_better": self.higher_is_better, "mean": clean(self.mean()),
               "values": [clean(v) for v in self.values], "params": self.params, "forward": int(self.forward)}
        if self.curves is not None:
            with warnings.catch_warnings():  # a point with no finite value is None, not a warning
                warnings.simplefilter("ignore", RuntimeWarning)
                out["curve_mean"] = [clean(v) for v in np.nanmean(self.curves, axis=0)]
            out["axis"] = [float(v) for v in self.axis]
        return out

