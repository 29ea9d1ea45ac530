"""What the SHAP methods share: background samples, batched model functions, value layout."""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..errors import ParameterError
from . import _model
from .base import Explainer, check_positive_int


@contextlib.contextmanager
def global_seed(seed: int):
    """Seed numpy's global generator (which shap uses) and restore its state afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


@contextlib.contextmanager
def quiet():
    """Silence the warnings shap triggers with Keras 3 and TensorFlow (input structure, versions,
    retracing of its per-class ``tf.function`` s, LARS convergence in Kernel SHAP)."""
    import logging

    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*structure of `inputs`.*")
            warnings.filterwarnings("ignore", message=".*TensorFlow version is newer.*")
            warnings.filterwarnings("ignore", message=".*Regressors in active set degenerate.*")
            warnings.filterwarnings("ignore", category=FutureWarning)
            yield
    finally:
        tf_logger.setLevel(level)


class ShapExplainer(Explainer):
    """Base of the SHAP methods: background handling and the (n, *spatial, n_classes) layout.

    Parameters common to all
    ------------------------
    background : np.ndarray
        Reference samples (m, *input_shape): training rows of the model (the explanation stage
        passes them). Required: the explained rows are never their own background, whose values
        would say how each row differs from the batch it came in.
    n_background : int
        At most this many background rows are used (drawn with ``seed`` when there are more).
    seed : int
    batch_size : int
    """

    def _check_params(self):
        check_positive_int(self.name, "n_background", self.params["n_background"])
        check_positive_int(self.name, "batch_size", self.params["batch_size"])
        if self.params["background"] is None:
            raise ParameterError(f"{self.name}: needs background rows (background=..., e.g. training samples of the "
                                 "model); the explained rows are not used as their own background")
        self._background = _model.prepare_input(self.model, self.params["background"])
        if len(self._background) == 0:
            raise ParameterError(f"{self.name}: the background holds no samples")
        # the params record what was used, not the array itself
        self.params["background"] = f"array{tuple(self._background.shape)}"

    def background(self) -> np.ndarray:
        """The background rows (at most ``n_background``, drawn with ``seed``), float32 (m, *input_shape)."""
        bg = self._background
        k = self.params["n_background"]
        if len(bg) > k:
            bg = bg[np.sort(np.random.default_rng(self.params["seed"]).choice(len(bg), k, replace=False))]
        return bg

    def flat_predict(self, rows: np.ndarray) -> np.ndarray:
        """Model outputs for flattened inputs (m, prod(input_shape)), in batches."""
        x = np.asarray(rows, dtype=np.float32).reshape(-1, *_model.input_shape(self.model))
        return _model.predict(self.model, x, batch_size=self.params["batch_size"])

    def layout(self, values: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-class values (n, *input_shape, C) -> (maps (n, *spatial), values (n, *spatial, C)).

        The channel axis (if any) is summed; ``maps`` holds each sample's target class.
        """
        values = np.asarray(values, dtype=np.float32)
        if len(_model.input_shape(self.model)) >= 2:
            values = values.sum(axis=-2)
        maps = np.take_along_axis(values, targets.reshape(-1, *[1] * (values.ndim - 1)), axis=-1)[..., 0]
        return maps, values
