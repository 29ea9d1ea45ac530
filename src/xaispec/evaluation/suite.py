"""Every metric for one method on one batch, with the counts a profile sets.

:func:`run_suite` is what the measurement stage calls per method: it knows no run folder,
only a model, inputs, maps, the settings (the profile's ``evaluate`` section) and, where the
inputs can be heard, the recordings and how to turn audio back into model inputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import ParameterError
from .base import Forward, Score
from .complexity import complexity, sparseness
from .faithfulness import aopc, deletion, faithfulness_correlation, infidelity, insertion
from .manipulation import manipulation
from .masks import mask_scores
from .road import road
from .robustness import max_sensitivity
from .sanity import Recompute, cascading_randomisation, random_logit
from .sound import sound_scores

#: the profile keys of the ``evaluate`` section a suite reads, with their defaults
SETTINGS = {"steps": 50, "patch": 8, "regions": 50, "road_percents": [10, 20, 30, 40, 50, 60, 70, 80, 90],
            "subsets": 50, "subset_share": 0.05, "infidelity_draws": 10, "sensitivity_draws": 10,
            "sensitivity_radius": 0.02,
            "mask_percents": [5, 10, 20], "sanity_samples": 4, "sanity_layers": 0,
            "manipulation_shares": [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]}
#: version of the metric definitions: part of the reuse key of measured results
METRIC_RULE = 1


def check_settings(settings: dict) -> dict:
    """``settings`` over :data:`SETTINGS`; an unknown key is an error naming it."""
    unknown = sorted(set(settings) - set(SETTINGS) - {"samples"})
    if unknown:
        raise ParameterError(f"unknown evaluate setting(s) {unknown}; valid: {sorted(SETTINGS) + ['samples']}")
    return {**SETTINGS, **{k: v for k, v in settings.items() if k != "samples"}}


@dataclass
class Hearing:
    """What the sound metric needs: the recordings and the store's way from audio to model inputs."""

    signals: np.ndarray
    to_input: Callable[[np.ndarray], np.ndarray]


def run_suite(model, x, maps, targets, labels, *, baseline, settings: dict, recompute: Recompute,
              n_classes: int, seed: int = 0, hearing: Hearing | None = None,
              batch_size: int = 64) -> dict[str, Score]:
    """Every metric of one method on one batch.

    Parameters
    ----------
    model : keras.Model
        The float32 model the maps explain.
    x, maps : np.ndarray, shape (n, *spatial_shape)
    targets : np.ndarray, shape (n,)
        The classes the maps explain.
    labels : np.ndarray, shape (n,)
        The true classes (the manipulation experiment's accuracy).
    baseline : float or np.ndarray
        Silence in the model's input space.
    settings : dict
        Counts (see :data:`SETTINGS`).
    recompute : callable
        The method, for the checks that explain again (sanity, robustness); they run on the
        first ``sanity_samples`` samples only.
    hearing : Hearing, optional
        With it, the sound metrics too.

    Returns
    -------
    dict
        Metric name -> Score. Sanity and robustness scores have ``sanity_samples`` values.
    """
    s = check_settings(settings)
    forward = Forward(model, batch_size=batch_size)
    out: dict[str, Score] = {}
    out["deletion_auc"] = deletion(forward, x, maps, targets, baseline=baseline, steps=s["steps"])
    out["insertion_auc"] = insertion(forward, x, maps, targets, baseline=baseline, steps=s["steps"])
    out.update(aopc(forward, x, maps, targets, baseline=baseline, patch=s["patch"], regions=s["regions"], seed=seed))
    for order in ("morf", "lerf"):
        out[f"road_{order}"] = road(forward, x, maps, targets, percents=s["road_percents"], order=order, seed=seed)
    out["faithfulness_correlation"] = faithfulness_correlation(
        forward, x, maps, targets, baseline=baseline, subsets=s["subsets"], subset_share=s["subset_share"], seed=seed)
    out["infidelity"] = infidelity(forward, x, maps, targets, draws=s["infidelity_draws"], seed=seed)
    out.update(mask_scores(forward, x, maps, targets, baseline=baseline, percents=s["mask_percents"]))
    if hearing is not None:
        out.update(sound_scores(forward, hearing.signals, maps, targets, to_input=hearing.to_input,
                                percents=s["mask_percents"]))
    out["manipulation"] = manipulation(forward, x, maps, labels, baseline=baseline, shares=s["manipulation_shares"])
    out["sparseness"] = sparseness(maps)
    out["complexity"] = complexity(maps)
    # the checks that explain again, on the first few samples
    k = max(1, min(int(s["sanity_samples"]), len(x)))
    layers = int(s["sanity_layers"]) or None
    xs, ms, ts = x[:k], maps[:k], targets[:k]
    out.update(cascading_randomisation(model, xs, ms, ts, recompute, layers=layers, seed=seed))
    if n_classes >= 2:
        out.update(random_logit(model, xs, ms, ts, recompute, n_classes=n_classes, seed=seed))
    radius = float(s["sensitivity_radius"]) * float(np.median(np.ptp(xs.reshape(k, -1), axis=1)) or 1.0)
    out["max_sensitivity"] = max_sensitivity(model, xs, ms, ts, recompute, radius=radius,
                                             draws=s["sensitivity_draws"], seed=seed)
    return out
