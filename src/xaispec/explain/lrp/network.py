"""A trained Keras model read as a chain of LRP steps, in float32.

Each layer becomes one :class:`Step`: a linear map with its weights (``conv``, ``dense``), a
per-channel affine map (``affine``: batch normalisation in inference mode), a pooling
(``maxpool``, ``avgpool``, ``globalavg``, ``globalmax``), a reshape (``flatten``) or an
identity (dropout, ReLU, the output's softmax). A layer LRP has no rule for is refused with
an error naming it. The weights are copied as float32 arrays, so a model trained in mixed
precision is explained in float32 and the trained model is never touched.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import ParameterError

#: step kinds that carry an LRP rule (the others route or reshape relevance)
RULED = ("conv", "dense", "affine", "avgpool", "globalavg")
#: activations relevance passes unchanged (it starts at the logit, before the softmax)
PASSING = ("relu", "linear", "softmax", "sigmoid")


@dataclass
class Step:
    """One layer of the chain.

    Attributes
    ----------
    kind : str
        ``conv``, ``dense``, ``affine``, ``maxpool``, ``avgpool``, ``globalavg``,
        ``globalmax``, ``flatten`` or ``identity``.
    name : str
        The Keras layer's name (composites given as a mapping use it).
    weights : dict of np.ndarray
        ``kernel`` and ``bias`` (conv, dense), ``scale`` and ``shift`` (affine).
    options : dict
        ``strides``, ``padding`` (conv, pooling), ``pool`` (pooling), ``rank`` (1 or 2).
    """

    kind: str
    name: str
    weights: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)


def _activation(layer) -> str:
    act = getattr(layer, "activation", None)
    return "linear" if act is None else getattr(act, "__name__", str(act))


def _plain_relu(layer) -> bool:
    # max(x, 0) exactly: no ceiling, no leak, no threshold
    return layer.max_value is None and not layer.negative_slope and not layer.threshold


def _pair(value, rank: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


def _float(w) -> np.ndarray:
    return np.asarray(w, dtype=np.float32)


def _linear(layer, kind: str, rank: int) -> Step:
    act = _activation(layer)
    if act not in PASSING:
        raise ParameterError(f"lrp: layer {layer.name!r} has activation {act!r}; LRP here handles "
                             f"{', '.join(PASSING)}")
    kernel = _float(layer.kernel.numpy())
    bias = _float(layer.bias.numpy()) if layer.use_bias else np.zeros(kernel.shape[-1], np.float32)
    options = {"activation": "relu" if act == "relu" else "linear", "squashing": act in ("softmax", "sigmoid")}
    if kind == "conv":
        if any(d != 1 for d in _pair(layer.dilation_rate, rank)) or getattr(layer, "groups", 1) != 1:
            raise ParameterError(f"lrp: convolution {layer.name!r} is dilated or grouped; LRP here handles neither")
        options.update(rank=rank, strides=_pair(layer.strides, rank), padding=layer.padding.upper())
    return Step(kind, layer.name, {"kernel": kernel, "bias": bias}, options)


def _affine(layer) -> Step:
    # inference-mode batch normalisation y = scale * x + shift, per channel (the last axis)
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
    if axis != -1 and axis != _rank(layer) - 1:
        raise ParameterError(f"lrp: batch normalisation {layer.name!r} normalises axis {axis}, not the channels")
    gamma = layer.gamma.numpy() if layer.scale else 1.0
    beta = layer.beta.numpy() if layer.center else 0.0
    mean, var = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    scale = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + layer.epsilon)
    shift = np.asarray(beta, np.float64) - np.asarray(mean, np.float64) * scale
    return Step("affine", layer.name, {"scale": _float(scale), "shift": _float(np.broadcast_to(shift, scale.shape))})


def _rank(layer) -> int:
    try:
        return len(layer.input.shape)
    except (AttributeError, ValueError):
        return -1


def _pooling(layer, kind: str, rank: int) -> Step:
    return Step(kind, layer.name, options={"rank": rank, "pool": _pair(layer.pool_size, rank),
                                           "strides": _pair(layer.strides, rank), "padding": layer.padding.upper()})


def read_network(model) -> list[Step]:
    """The layers of ``model`` as LRP steps, input first.

    Parameters
    ----------
    model : keras.Model
        A Sequential model, or a functional one whose layers form a single chain.

    Returns
    -------
    list of Step

    Raises
    ------
    ParameterError
        For a layer LRP has no rule for (the message names the layer and its type), an
        activation other than ReLU/linear inside the network, or a model that is not a chain.
    """
    import keras
    from keras import layers as L

    steps = []
    chain = [layer for layer in model.layers if not isinstance(layer, L.InputLayer)]
    for layer in chain:
        if len(getattr(layer, "_inbound_nodes", [None])) > 1 and not isinstance(model, keras.Sequential):
            raise ParameterError(f"lrp: layer {layer.name!r} is called more than once; LRP here needs a chain of layers")
        if isinstance(layer, L.Conv2D) and not isinstance(layer, (L.Conv2DTranspose, L.DepthwiseConv2D)):
            steps.append(_linear(layer, "conv", 2))
        elif isinstance(layer, L.Conv1D) and not isinstance(layer, L.Conv1DTranspose):
            steps.append(_linear(layer, "conv", 1))
        elif isinstance(layer, L.Dense):
            steps.append(_linear(layer, "dense", 0))
        elif isinstance(layer, L.BatchNormalization):
            steps.append(_affine(layer))
        elif isinstance(layer, (L.MaxPooling1D, L.MaxPooling2D)):
            steps.append(_pooling(layer, "maxpool", 1 if isinstance(layer, L.MaxPooling1D) else 2))
        elif isinstance(layer, (L.AveragePooling1D, L.AveragePooling2D)):
            steps.append(_pooling(layer, "avgpool", 1 if isinstance(layer, L.AveragePooling1D) else 2))
        elif isinstance(layer, (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D)) and not layer.keepdims:
            steps.append(Step("globalavg", layer.name))
        elif isinstance(layer, (L.GlobalMaxPooling1D, L.GlobalMaxPooling2D)) and not layer.keepdims:
            steps.append(Step("globalmax", layer.name))
        elif isinstance(layer, L.Flatten):
            steps.append(Step("flatten", layer.name))
        elif isinstance(layer, (L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D)):
            steps.append(Step("identity", layer.name, options={"activation": "linear"}))
        elif isinstance(layer, L.ReLU) and _plain_relu(layer):
            steps.append(Step("identity", layer.name, options={"activation": "relu"}))
        elif isinstance(layer, L.Softmax) or (isinstance(layer, L.Activation) and _activation(layer) in PASSING):
            act = "softmax" if isinstance(layer, L.Softmax) else _activation(layer)
            steps.append(Step("identity", layer.name, options={"activation": "relu" if act == "relu" else "linear",
                                                               "squashing": act in ("softmax", "sigmoid")}))
        else:
            raise ParameterError(f"lrp: layer {layer.name!r} ({type(layer).__name__}) has no LRP rule here; "
                                 "supported: Conv1D/Conv2D, Dense, BatchNormalization, max/average pooling "
                                 "(global included), Flatten, Dropout, ReLU and softmax")
    squash = [i for i, s in enumerate(steps) if s.options.get("squashing")]
    linear = [i for i, s in enumerate(steps) if s.kind in ("conv", "dense")]
    if squash and linear and min(squash) < linear[-1]:
        raise ParameterError(f"lrp: layer {steps[min(squash)].name!r} applies a softmax or sigmoid inside the network; "
                             "LRP starts from the logits, so it may only end the model")
    if not any(s.kind in ("conv", "dense") for s in steps):
        raise ParameterError(f"lrp: model {model.name!r} has no convolution or dense layer to explain through")
    last = [s for s in steps if s.kind in ("conv", "dense")][-1]
    if steps.index(last) != max(i for i, s in enumerate(steps) if s.kind != "identity"):
        raise ParameterError(f"lrp: model {model.name!r} must end in a dense or convolution layer "
                             f"(the logits), not {steps[-1].name!r}")
    return steps


def first_linear(steps: list[Step]) -> str:
    """The name of the linear layer nearest the input (the one input-layer rules apply to)."""
    return next(s.name for s in steps if s.kind in ("conv", "dense"))
