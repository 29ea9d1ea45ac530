"""The AudioMNIST paper's manipulation experiment: accuracy as the cells a selection ranks highest go silent.

Becker et al. set the most relevant parts of the input (by LRP), random parts, or the
loudest parts to silence in growing amounts and plot accuracy against the amount: a
selection that finds the evidence makes accuracy fall fastest. Here every explanation
method is a selection (its maps, most relevant first), the ``random`` explainer's maps are
the random selection and the ``energy`` explainer's (the input itself) the amplitude one.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .base import Score, as_forward, baselines, check_batch, describe_baseline
from .perturbation import area, cell_ranks, curves

#: shares of the cells silenced, by default
SHARES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def manipulation(model, x, maps, labels, *, baseline, shares=SHARES, batch_size: int = 64) -> Score:
    """Whether each sample is still classified correctly as the top-ranked cells of its map are silenced.

    Parameters
    ----------
    model : keras.Model, callable or Forward
    x, maps : np.ndarray, shape (n, *spatial_shape)
    labels : np.ndarray, shape (n,)
        The true classes (accuracy, not the explained class).
    baseline : float, "min" or np.ndarray
        Silence in the model's input space.
    shares : sequence of float
        Shares of the cells set to silence, increasing, in [0, 1].

    Returns
    -------
    Score
        ``manipulation``: per sample, the area under its 0/1 correctness curve over the
        shares (lower: the selection removed the evidence sooner). ``curves`` (n, points):
        correctness at each share; their mean over samples is the accuracy curve.
    """
    forward = as_forward(model, batch_size=batch_size)
    x, maps, labels = check_batch(x, maps, labels)
    s = np.asarray(shares, dtype=np.float64)
    if s.ndim != 1 or len(s) < 2 or s.min() < 0 or s.max() > 1 or np.any(np.diff(s) <= 0):
        raise ParameterError(f"shares={list(shares)!r} must be at least two increasing shares in [0, 1]")
    cells = int(np.prod(x.shape[1:]))
    counts = np.round(s * cells).astype(np.int64)
    before = forward.rows
    probs = curves(forward, x, baselines(x, baseline), cell_ranks(maps, "morf"), counts)
    correct = (probs.argmax(axis=2) == labels[:, None]).astype(np.float64)
    return Score("manipulation", area(correct, s), higher_is_better=False, forward=forward.rows - before,
                 curves=correct, axis=s, params={"baseline": describe_baseline(baseline), "shares": s.tolist(),
                                                 "order": "morf", "of": "accuracy on the true class"})
