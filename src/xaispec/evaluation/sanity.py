"""Sanity checks (Adebayo et al. 2018): maps must change when the model or the class changes.

Cascading model-parameter randomisation (MPRT) re-initialises the layers that have weights
from the output down, one more at a time, each with its own initializer (batch
normalisation reset to identity: gamma 1, beta 0, mean 0, variance 1), and recomputes the
maps after every step; a method that explains the model decorrelates, one whose maps survive
the randomisation of the whole network shows the input. Random logit explains a random other
class instead of the explained one. Similarity is Spearman's rank correlation (of the maps
and of ``|maps|``) and SSIM.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ParameterError
from ..explain import get_explainer, work
from .agreement import spearman, ssim
from .base import Score, check_batch, rng_of

#: ``recompute(model, x, targets) -> maps (n, *spatial_shape)``: one method with its parameters
Recompute = Callable[[object, np.ndarray, np.ndarray], np.ndarray]
#: the weights a re-initialisation draws again, by attribute, with their initializer's attribute
WEIGHTS = ("kernel", "bias", "depthwise_kernel", "pointwise_kernel", "recurrent_kernel", "embeddings")
BATCHNORM = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}


def explain_work() -> int:
    """Rows the explanation methods have run forward so far in this process."""
    return int(work()["forward"])


def recompute_with(method: str, **params) -> Recompute:
    """The :data:`Recompute` of an explanation method called by name (see :func:`xaispec.explain.get_explainer`)."""
    def recompute(model, x, targets):
        return get_explainer(method, model, **params).explain(x, targets).maps
    return recompute


def weighted_layers(model) -> list:
    """The layers with weights, from the output down: the order of the cascade."""
    return [layer for layer in reversed(model.layers) if layer.weights]


def reinitialise(layer, seed: int) -> None:
    """Draw ``layer``'s weights again from its own initializers (batch normalisation: identity)."""
    import keras

    if isinstance(layer, keras.layers.BatchNormalization):
        for name, value in BATCHNORM.items():
            var = getattr(layer, name, None)
            if var is not None:
                var.assign(np.full(var.shape, value, dtype=var.dtype))
        return
    drawn = False
    for i, name in enumerate(WEIGHTS):
        var = getattr(layer, name, None)
        init = getattr(layer, f"{name}_initializer", None)
        if var is None or init is None or not hasattr(var, "assign"):
            continue
        config = init.get_config()
        if "seed" in config:  # a seeded copy: the same seed gives the same randomised network
            init = type(init).from_config({**config, "seed": seed * len(WEIGHTS) + i})
        var.assign(init(var.shape, dtype=var.dtype))
        drawn = True
    if not drawn:
        raise ParameterError(f"layer {layer.name!r} ({type(layer).__name__}) has weights but no initializer "
                             f"to draw them again")


def cascading_randomisation(model, x, maps, targets, recompute: Recompute, *, layers: int | None = None,
                            seed: int = 0) -> dict[str, Score]:
    """MPRT, cascading from the output: similarity of the maps after each layer is randomised.

    Parameters
    ----------
    model : keras.Model
        Never modified: the cascade runs on a copy with the same weights.
    x, maps : np.ndarray, shape (n, *spatial_shape)
        Inputs and the method's maps of the trained model.
    targets : np.ndarray, shape (n,)
    recompute : callable
        The method (see :func:`recompute_with`).
    layers : int or None
        How many layers with weights to randomise (None: all of them).

    Returns
    -------
    dict
        ``mprt_spearman``, ``mprt_spearman_abs`` and ``mprt_ssim``: per sample the
        similarity once all ``layers`` are randomised (lower passes the check); ``curves``
        (n, layers) after each step, ``params["layers"]`` their names; ``mprt_spearman``'s
        ``examples`` (layers + 1, *spatial_shape) are the first sample's maps, trained first.
    """
    import keras

    x, maps, targets = check_batch(x, maps, targets)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    order = weighted_layers(copy)
    k = len(order) if layers is None else int(layers)
    if not 1 <= k <= len(order):
        raise ParameterError(f"layers={layers!r} must be between 1 and the model's {len(order)} layers with weights")
    before = explain_work()
    sims = {"mprt_spearman": [], "mprt_spearman_abs": [], "mprt_ssim": []}
    examples = [maps[0]]
    for step, layer in enumerate(order[:k]):
        reinitialise(layer, seed + step)
        random_maps = np.asarray(recompute(copy, x, targets), dtype=np.float64)
        examples.append(random_maps[0])
        sims["mprt_spearman"].append(spearman(maps, random_maps))
        sims["mprt_spearman_abs"].append(spearman(np.abs(maps), np.abs(random_maps)))
        sims["mprt_ssim"].append(ssim(maps, random_maps))
    cost = explain_work() - before
    names = [layer.name for layer in order[:k]]
    return {name: Score(name, np.asarray(c)[-1], higher_is_better=False, forward=cost, curves=np.asarray(c).T,
                        axis=np.arange(1, k + 1, dtype=np.float64),
                        params={"layers": names, "seed": seed, "order": "cascading, output first",
                                "batchnorm": "identity"},
                        examples=np.asarray(examples, dtype=np.float32) if name == "mprt_spearman" else None)
            for name, c in sims.items()}


def random_logit(model, x, maps, targets, recompute: Recompute, *, n_classes: int, seed: int = 0) -> dict[str, Score]:
    """Random logit: similarity of the maps of the explained class and of a random other class.

    Returns
    -------
    dict
        ``random_logit_ssim`` and ``random_logit_spearman`` per sample (lower passes);
        ``params["classes"]`` the other classes drawn from ``seed``.
    """
    x, maps, targets = check_batch(x, maps, targets)
    if n_classes < 2:
        raise ParameterError(f"random logit needs at least two classes, got n_classes={n_classes!r}")
    rng = rng_of(seed)
    other = np.array([(t + rng.integers(1, n_classes)) % n_classes for t in targets], dtype=np.int64)
    before = explain_work()
    random_maps = np.asarray(recompute(model, x, other), dtype=np.float64)
    cost = explain_work() - before
    params = {"seed": seed, "classes": other.tolist()}
    return {"random_logit_ssim": Score("random_logit_ssim", ssim(maps, random_maps), higher_is_better=False,
                                       forward=cost, params=params),
            "random_logit_spearman": Score("random_logit_spearman", spearman(maps, random_maps),
                                           higher_is_better=False, forward=cost, params=params)}
