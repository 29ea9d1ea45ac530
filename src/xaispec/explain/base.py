"""The common interface of every explanation method: one result type, one base class, one registry.

An :class:`Explainer` wraps a trained Keras model and a set of parameters; its
:meth:`Explainer.explain` takes a batch of model inputs and returns an
:class:`Explanation` whose ``maps`` are aligned with the inputs' spatial axes
(the channel axis of the model input is summed away).

Nothing here imports TensorFlow; the methods import it where they compute.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .._io import atomic_path
from ..errors import DataError, ParameterError

#: method name -> Explainer subclass; filled by :func:`register` when
#: ``xaispec.explain`` is imported (importing this module imports the package first).
METHODS: dict[str, type["Explainer"]] = {}


def register(cls: type["Explainer"]) -> type["Explainer"]:
    """Class decorator adding an Explainer subclass to :data:`METHODS` under ``cls.name``."""
    METHODS[cls.name] = cls
    return cls


def get_explainer(name: str, model, **params) -> "Explainer":
    """The explainer called ``name`` for ``model``.

    Raises
    ------
    ParameterError
        For an unknown name (the message lists the valid ones) or an unknown parameter.
    """
    if name not in METHODS:
        raise ParameterError(f"unknown explanation method {name!r}; valid methods: {', '.join(sorted(METHODS))}")
    return METHODS[name](model, **params)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: arrays become a shape/dtype description, tuples lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return {"array": {"shape": list(value.shape), "dtype": str(value.dtype)}}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


@dataclass
class Explanation:
    """The result of one explainer on one batch.

    Attributes
    ----------
    maps : np.ndarray, shape (n, *spatial_shape), float32
        Attribution per input cell for the explained class, aligned with the model input
        without its channel axis: (n, 227, 227) for (227, 227, 1) inputs, (n, 128) for
        (128, 1) inputs.
    method : str
        Name of the method in :data:`METHODS`.
    targets : np.ndarray, shape (n,), int
        The explained class of each sample.
    params : dict
        The explainer's parameters (defaults filled in).
    runtime : float
        Wall-clock seconds for the whole batch.
    extra : dict
        Method-specific results, e.g. LIME ``segments`` (n, *spatial_shape) and ``mask``,
        SHAP ``values`` (n, *spatial_shape, n_classes).
    """

    maps: np.ndarray
    method: str
    targets: np.ndarray
    params: dict
    runtime: float
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.maps = np.asarray(self.maps, dtype=np.float32)
        self.targets = np.asarray(self.targets, dtype=np.int64).reshape(-1)
        if len(self.targets) != len(self.maps):
            raise ParameterError(f"{len(self.targets)} targets for {len(self.maps)} maps")

    def __len__(self) -> int:
        return len(self.maps)

    def summary(self) -> dict:
        """A JSON-able record for result files: method, params, runtime, targets, map shape."""
        return {
            "method": self.method,
            "params": jsonable(self.params),
            "runtime": float(self.runtime),
            "targets": [int(t) for t in self.targets],
            "shape": list(self.maps.shape),
        }

    def to_json(self) -> str:
        """:meth:`summary` as a JSON string."""
        return json.dumps(self.summary(), sort_keys=True)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the explanation to ``path`` as .npz, atomically (temporary file, then rename).

        Array-valued ``extra`` entries are stored as arrays, the rest as JSON.
        """
        arrays = {"maps": self.maps, "targets": self.targets, "runtime": np.float64(self.runtime),
                  "method": np.str_(self.method), "params_json": np.str_(json.dumps(jsonable(self.params)))}
        other = {}
        for key, value in self.extra.items():
            if isinstance(value, np.ndarray) and value.dtype != object:
                arrays[f"extra__{key}"] = value
            else:
                other[key] = jsonable(value)
        arrays["extra_json"] = np.str_(json.dumps(other))
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Explanation":
        """Read an explanation written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as z:
                extra = json.loads(str(z["extra_json"]))
                extra.update({k[len("extra__"):]: z[k] for k in z.files if k.startswith("extra__")})
                return cls(maps=z["maps"], method=str(z["method"]), targets=z["targets"],
                           params=json.loads(str(z["params_json"])), runtime=float(z["runtime"]), extra=extra)
        except (OSError, KeyError, ValueError) as e:
            raise DataError(f"{path}: not a readable explanation file ({e})") from e


class Explainer:
    """Base class: an explanation method bound to one model.

    Subclasses set :attr:`name` and :attr:`defaults` and implement :meth:`_explain`.

    Parameters
    ----------
    model : keras.Model
        A trained classifier with one input (n, *input_shape) and one output (n, n_classes).
        It is never modified.
    **params
        Method parameters; see each subclass's :attr:`defaults`.
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict] = {}
    #: True where maps of a mixed-bfloat16 model agree with its float32 copy's (median Spearman
    #: >= 0.95) and come faster, as measured by bench/explain.py (bench/RESULTS.md): only such
    #: methods may explain a model in the precision it was trained in
    bfloat16: ClassVar[bool] = False

    def __init__(self, model, **params):
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ParameterError(f"{self.name}: unknown parameter(s) {unknown}; "
                                 f"valid: {sorted(self.defaults)}")
        self.model = model
        self.params = {**self.defaults, **params}
        self._check_params()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({jsonable(self.params)})"

    def _check_params(self) -> None:
        """Validate ``self.params``; raise ParameterError. Override in subclasses."""

    # -- the batch interface -------------------------------------------------------------
    def explain(self, x, targets=None) -> Explanation:
        """Explain a batch.

        Parameters
        ----------
        x : array-like, shape (n, *input_shape)
            Model inputs; (n, *spatial_shape) is accepted for one-channel models.
        targets : None, int or array-like of shape (n,)
            Class to explain per sample; None explains the predicted class.

        Returns
        -------
        Explanation
        """
        from . import _model

        start = time.perf_counter()
        x = _model.prepare_input(self.model, x)
        if len(x) == 0:
            raise ParameterError(f"{self.name}: the batch to explain is empty")
        if targets is None and self.resolves_targets:
            # the method finds the predicted class in its own forward pass (-1 = predicted)
            targets = np.full(len(x), -1, dtype=np.int64)
        else:
            targets = _model.resolve_targets(self.model, x, targets, batch_size=self._batch_size())
        maps, extra = self._explain(x, targets)
        targets = np.asarray(extra.pop("targets", targets), dtype=np.int64)
        maps = np.asarray(maps, dtype=np.float32)
        expected = (len(x), *_model.spatial_shape(self.model))
        if maps.shape != expected:  # a bug in a method, not a user error
            raise AssertionError(f"{self.name} returned maps of shape {maps.shape}, expected {expected}")
        return Explanation(maps=maps, method=self.name, targets=targets, params=dict(self.params),
                           runtime=time.perf_counter() - start, extra=extra)

    #: True when ``_explain`` accepts -1 targets (the predicted class) and returns the
    #: classes it used as ``extra["targets"]``, saving a separate prediction pass
    resolves_targets = False

    def _batch_size(self) -> int:
        return int(self.params.get("batch_size", 64))

    def _explain(self, x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, dict]:
        """Return ``(maps (n, *spatial_shape), extra)`` for a checked batch and its targets."""
        raise NotImplementedError


def check_choice(method: str, key: str, value, choices) -> None:
    """Raise ParameterError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ParameterError(f"{method}: {key}={value!r} is not one of {list(choices)}")


def check_positive_int(method: str, key: str, value, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``, or ParameterError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{method}: {key}={value!r} must be an integer >= {minimum}")
    return int(value)
