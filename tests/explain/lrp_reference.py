"""A plain-numpy reference for layer-wise relevance propagation (LRP): the test oracle.

It deliberately imports nothing but numpy (no TensorFlow, Keras or ``xaispec``) and computes in
float64 throughout, so that a fast TensorFlow implementation can be compared against it.

A network is a list of layer dicts applied in order to a batch ``x`` of shape ``(n, *input_shape)``
(channels last: ``(n, H, W, C)``, ``(n, L, C)`` or ``(n, D)``).  Supported layer types:

``conv``
    ``kernel`` (Keras layout: ``(kh, kw, cin, cout)`` or ``(k, cin, cout)``), ``bias`` ``(cout,)``,
    ``strides``, ``padding`` (``"valid"``/``"same"``), ``activation``.
``dense``
    ``kernel`` ``(in, out)``, ``bias`` ``(out,)``, ``activation``; input must be ``(n, in)``.
``batchnorm``
    ``gamma``, ``beta``, ``mean``, ``var``, ``epsilon`` (per channel, last axis, inference mode).
``maxpool``
    ``pool``, ``strides``, ``padding`` (``"same"`` pads with ``-inf``).
``avgpool``
    ``pool``, ``strides``, ``padding`` (``"valid"`` only).
``globalavgpool``, ``flatten``, ``dropout`` (identity), ``relu``.

Activations are ``"relu"``, ``"linear"`` (the default) and ``"softmax"``.  The last layer must be a
``conv`` or ``dense`` layer; the explained score is its *pre-activation* output (the logit), whatever
its activation.  Targets index the per-sample output flattened in row-major order, which for the
usual ``(n, K)`` output is simply the class index.

Public functions: :func:`forward`, :func:`logits`, :func:`gradient`, :func:`lrp`, :func:`stabilize`,
:func:`conv_geometry`, :func:`conv_forward`, :func:`conv_transpose`.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

__all__ = ["stabilize", "conv_geometry", "conv_forward", "conv_transpose", "forward", "logits", "gradient", "lrp"]

F64 = np.float64
RULE_LAYERS = ("conv", "dense", "batchnorm", "avgpool", "globalavgpool")
LINEAR_RULES = ("zero", "epsilon", "gamma", "alphabeta", "box", "flat", "wsquare")
ZERO_EPS = 1e-12  # the "zero" rule is the epsilon rule with this epsilon
RULE_EPS = 1e-6  # stabiliser of the gamma, alpha-beta, box, flat and w-square denominators


# -- small helpers -----------------------------------------------------------------------------
def stabilize(z: np.ndarray, eps: float) -> np.ndarray:
    """Push a denominator away from zero: ``z + eps * ((z == 0) + sign(z))``.

    Parameters
    ----------
    z : ndarray, any shape
        The denominator.
    eps : float
        The stabiliser (zero maps to ``+eps``).

    Returns
    -------
    ndarray, float64, the shape of ``z``
    """
    z = np.asarray(z, dtype=F64)
    return z + eps * ((z == 0).astype(F64) + np.sign(z))


def _f64(value) -> np.ndarray:
    return np.asarray(value, dtype=F64)


def _tuple(value, ndim: int, what: str, layer: str) -> tuple[int, ...]:
    """An int or a sequence of ints as a tuple with one entry per spatial axis."""
    if np.isscalar(value):
        return (int(value),) * ndim
    out = tuple(int(v) for v in value)
    if len(out) != ndim:
        raise ValueError(f"layer {layer!r}: {what} {out} does not have {ndim} entries")
    return out


def _activation(layer: Mapping) -> str:
    act = layer.get("activation", "linear") or "linear"
    if act not in ("relu", "linear", "softmax"):
        raise ValueError(f"layer {layer.get('name')!r}: unknown activation {act!r}")
    return act


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# -- sliding-window geometry -------------------------------------------------------------------
def conv_geometry(in_sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                  padding: str) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    """Output sizes and paddings of a Keras convolution or pooling window.

    Parameters
    ----------
    in_sizes, kernel, strides : sequence of int, one per spatial axis
        Input sizes, window sizes and strides.
    padding : {"valid", "same"}
        ``"valid"``: ``out = floor((n - k) / s) + 1``, no padding.  ``"same"``: ``out = ceil(n / s)``,
        ``pad_total = max((out - 1) * s + k - n, 0)``, ``pad_before = pad_total // 2``, the rest after.

    Returns
    -------
    out : tuple of int, one per spatial axis
    pads : tuple of (before, after) pairs, one per spatial axis
    """
    out, pads = [], []
    for n, k, s in zip(in_sizes, kernel, strides):
        if k < 1 or s < 1:
            raise ValueError(f"window {k} and stride {s} must be positive")
        if padding == "valid":
            if k > n:
                raise ValueError(f"window {k} is larger than the input size {n} with 'valid' padding")
            out.append((n - k) // s + 1)
            pads.append((0, 0))
        elif padding == "same":
            o = -(-n // s)
            total = max((o - 1) * s + k - n, 0)
            out.append(o)
            pads.append((total // 2, total - total // 2))
        else:
            raise ValueError(f"unknown padding {padding!r}")
    return tuple(out), tuple(pads)


def _windows(kernel: Sequence[int], strides: Sequence[int], out: Sequence[int]):
    """For every window offset (row-major order), the index selecting that offset's cells.

    Applied to a padded array ``(n, *padded_spatial, c)`` the index gives ``(n, *out, c)``: for each
    output position, the input cell at this offset inside its window.
    """
    for offset in np.ndindex(*kernel):
        idx = tuple(slice(o, o + s * (m - 1) + 1, s) for o, s, m in zip(offset, strides, out))
        yield offset, (slice(None),) + idx + (slice(None),)


def _pad(a: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    return np.pad(a, ((0, 0),) + tuple(pads) + ((0, 0),), constant_values=value)


def _crop(a: np.ndarray, pads) -> np.ndarray:
    idx = tuple(slice(b, a.shape[i + 1] - e) for i, (b, e) in enumerate(pads))
    return a[(slice(None),) + idx + (slice(None),)]


# -- convolution -------------------------------------------------------------------------------
def _conv_shapes(in_shape, kernel: np.ndarray, strides, padding):
    d = kernel.ndim - 2
    if d not in (1, 2):
        raise ValueError(f"a conv kernel must have 3 (Conv1D) or 4 (Conv2D) axes, not shape {kernel.shape}")
    if len(in_shape) != d + 2:
        raise ValueError(f"a {d}-D convolution needs input (n, *{d} spatial, cin), not shape {tuple(in_shape)}")
    if in_shape[-1] != kernel.shape[-2]:
        raise ValueError(f"input channels {in_shape[-1]} do not match kernel {kernel.shape}")
    strides = _tuple(strides if strides is not None else 1, d, "strides", "conv")
    out, pads = conv_geometry(in_shape[1:-1], kernel.shape[:d], strides, padding)
    return d, strides, out, pads


def conv_forward(a: np.ndarray, kernel: np.ndarray, strides=1, padding: str = "valid") -> np.ndarray:
    """The linear map ``W * a`` of a Keras Conv1D/Conv2D (dilation 1, no bias).

    Parameters
    ----------
    a : ndarray, (n, L, cin) or (n, H, W, cin)
    kernel : ndarray, (k, cin, cout) or (kh, kw, cin, cout)
    strides : int or tuple of int
    padding : {"valid", "same"}
        Zero padding as in Keras (see :func:`conv_geometry`).

    Returns
    -------
    ndarray, float64, (n, *out, cout)
    """
    a, kernel = _f64(a), _f64(kernel)
    d, strides, out, pads = _conv_shapes(a.shape, kernel, strides, padding)
    ap = _pad(a, pads)
    z = np.zeros((a.shape[0],) + out + (kernel.shape[-1],), dtype=F64)
    for offset, idx in _windows(kernel.shape[:d], strides, out):
        z += ap[idx] @ kernel[offset]
    return z


def conv_transpose(s: np.ndarray, kernel: np.ndarray, in_shape: Sequence[int], strides=1,
                   padding: str = "valid") -> np.ndarray:
    """The transpose ``W^T s`` of :func:`conv_forward`: the gradient of ``sum((W * a) * s)`` in ``a``.

    Parameters
    ----------
    s : ndarray, (n, *out, cout)
        An array shaped like the convolution's output.
    kernel : ndarray, (k, cin, cout) or (kh, kw, cin, cout)
    in_shape : sequence of int
        The input shape ``(n, *spatial, cin)``.
    strides : int or tuple of int
    padding : {"valid", "same"}

    Returns
    -------
    ndarray, float64, ``in_shape``
    """
    s, kernel = _f64(s), _f64(kernel)
    in_shape = tuple(int(v) for v in in_shape)
    d, strides, out, pads = _conv_shapes(in_shape, kernel, strides, padding)
    if s.shape != (in_shape[0],) + out + (kernel.shape[-1],):
        raise ValueError(f"output-shaped array {s.shape} does not fit input {in_shape} and kernel {kernel.shape}")
    padded = (in_shape[0],) + tuple(n + b + e for n, (b, e) in zip(in_shape[1:-1], pads)) + (in_shape[-1],)
    g = np.zeros(padded, dtype=F64)
    for offset, idx in _windows(kernel.shape[:d], strides, out):
        g[idx] += s @ kernel[offset].T
    return _crop(g, pads)


# -- linear layers as (forward, transpose) pairs -------------------------------------------------
def _linear_ops(layer: Mapping, a_shape) -> tuple[Callable, Callable, np.ndarray, np.ndarray]:
    """``fwd(a, W) = W * a`` and ``bwd(s, W) = W^T s`` for a conv or dense layer, with its kernel and bias."""
    name = layer.get("name")
    kernel, bias = _f64(layer["kernel"]), _f64(layer["bias"])
    if bias.shape != (kernel.shape[-1],):
        raise ValueError(f"layer {name!r}: bias {bias.shape} does not match kernel {kernel.shape}")
    if layer["type"] == "dense":
        if kernel.ndim != 2 or len(a_shape) != 2 or a_shape[1] != kernel.shape[0]:
            raise ValueError(f"layer {name!r}: dense kernel {kernel.shape} does not fit input {tuple(a_shape)}")

        def fwd(a, w):
            return a @ w

        def bwd(s, w):
            return s @ w.T
    else:
        strides, padding = layer.get("strides", 1), layer.get("padding", "valid")
        _conv_shapes(a_shape, kernel, strides, padding)  # validates

        def fwd(a, w):
            return conv_forward(a, w, strides, padding)

        def bwd(s, w):
            return conv_transpose(s, w, a_shape, strides, padding)
    return fwd, bwd, kernel, bias


def _bn_scale_shift(layer: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``s = gamma / sqrt(var + epsilon)`` and ``t = beta - mean * s``."""
    s = _f64(layer["gamma"]) / np.sqrt(_f64(layer["var"]) + float(layer["epsilon"]))
    return s, _f64(layer["beta"]) - _f64(layer["mean"]) * s


def _pool_params(layer: Mapping, a_shape):
    name = layer.get("name")
    d = len(a_shape) - 2
    if d not in (1, 2):
        raise ValueError(f"layer {name!r}: pooling needs input (n, *spatial, c), not shape {tuple(a_shape)}")
    pool = _tuple(layer["pool"], d, "pool", name)
    strides = layer.get("strides")
    strides = pool if strides is None else _tuple(strides, d, "strides", name)
    padding = layer.get("padding", "valid")
    out, pads = conv_geometry(a_shape[1:-1], pool, strides, padding)
    return pool, strides, padding, out, pads


# -- pooling -----------------------------------------------------------------------------------
def _maxpool(a: np.ndarray, layer: Mapping):
    """Max pooling; also the window offset (row-major index) of each output's first maximum."""
    pool, strides, _, out, pads = _pool_params(layer, a.shape)
    ap = _pad(a, pads, -np.inf)
    best, arg = None, None
    for k, (_, idx) in enumerate(_windows(pool, strides, out)):
        v = ap[idx]
        if best is None:
            best, arg = v.copy(), np.zeros(v.shape, dtype=np.int64)
        else:
            upd = v > best  # strict: ties keep the first maximum in row-major order
            best = np.where(upd, v, best)
            arg = np.where(upd, k, arg)
    return best, arg


def _maxpool_route(r: np.ndarray, arg: np.ndarray, layer: Mapping, a_shape) -> np.ndarray:
    """Send each output's value to its window's (first) maximum; overlapping windows accumulate."""
    pool, strides, _, out, pads = _pool_params(layer, a_shape)
    padded = (a_shape[0],) + tuple(n + b + e for n, (b, e) in zip(a_shape[1:-1], pads)) + (a_shape[-1],)
    g = np.zeros(padded, dtype=F64)
    for k, (_, idx) in enumerate(_windows(pool, strides, out)):
        g[idx] += np.where(arg == k, r, 0.0)
    return _crop(g, pads)


def _avgpool_check(layer: Mapping, a_shape):
    pool, strides, padding, out, pads = _pool_params(layer, a_shape)
    if padding != "valid":
        raise ValueError(f"layer {layer.get('name')!r}: average pooling supports only 'valid' padding")
    return pool, strides, out


def _avgpool(a: np.ndarray, layer: Mapping) -> np.ndarray:
    pool, strides, out = _avgpool_check(layer, a.shape)
    z = np.zeros((a.shape[0],) + out + (a.shape[-1],), dtype=F64)
    for _, idx in _windows(pool, strides, out):
        z += a[idx]
    return z / np.prod(pool)


def _avgpool_transpose(s: np.ndarray, layer: Mapping, a_shape) -> np.ndarray:
    pool, strides, out = _avgpool_check(layer, a_shape)
    g = np.zeros(a_shape, dtype=F64)
    for _, idx in _windows(pool, strides, out):
        g[idx] += s
    return g / np.prod(pool)


def _spatial_axes(a_shape) -> tuple[int, ...]:
    if len(a_shape) < 3:
        raise ValueError(f"global average pooling needs input (n, *spatial, c), not shape {tuple(a_shape)}")
    return tuple(range(1, len(a_shape) - 1))


# -- forward pass ------------------------------------------------------------------------------
def _check_net(layers: Sequence[Mapping]) -> None:
    if not layers:
        raise ValueError("the network has no layers")
    for layer in layers:
        if layer.get("type") not in RULE_LAYERS + ("maxpool", "flatten", "dropout", "relu"):
            raise ValueError(f"layer {layer.get('name')!r}: unknown type {layer.get('type')!r}")
    if layers[-1]["type"] not in ("conv", "dense"):
        raise ValueError(f"the last layer {layers[-1].get('name')!r} must be conv or dense, "
                         f"not {layers[-1]['type']!r}")


def _preactivation(layer: Mapping, a: np.ndarray) -> np.ndarray:
    fwd, _, kernel, bias = _linear_ops(layer, a.shape)
    return fwd(a, kernel) + bias


def _layer_forward(layer: Mapping, a: np.ndarray) -> np.ndarray:
    kind = layer["type"]
    if kind in ("conv", "dense"):
        z = _preactivation(layer, a)
        act = _activation(layer)
        return np.maximum(z, 0.0) if act == "relu" else _softmax(z) if act == "softmax" else z
    if kind == "batchnorm":
        s, t = _bn_scale_shift(layer)
        return s * a + t
    if kind == "maxpool":
        return _maxpool(a, layer)[0]
    if kind == "avgpool":
        return _avgpool(a, layer)
    if kind == "globalavgpool":
        return a.mean(axis=_spatial_axes(a.shape))
    if kind == "flatten":
        return a.reshape(a.shape[0], -1)
    if kind == "dropout":
        return a
    if kind == "relu":
        return np.maximum(a, 0.0)
    raise ValueError(f"layer {layer.get('name')!r}: unknown type {kind!r}")


def forward(layers: Sequence[Mapping], x: np.ndarray) -> list[np.ndarray]:
    """Run the network in float64 and keep every layer's input.

    Parameters
    ----------
    layers : list of dict
        The network (see the module docstring).
    x : ndarray, (n, *input_shape)

    Returns
    -------
    list of ndarray, length ``len(layers) + 1``
        Entry ``i < len(layers)`` is the input of layer ``i`` (entry 0 is ``x`` as float64); the last
        entry is the last layer's pre-activation output (the logits) in its natural shape, e.g.
        ``(n, K)``.
    """
    _check_net(layers)
    acts = [_f64(x)]
    for layer in layers[:-1]:
        acts.append(_layer_forward(layer, acts[-1]))
    acts.append(_preactivation(layers[-1], acts[-1]))
    return acts


def logits(layers: Sequence[Mapping], x: np.ndarray) -> np.ndarray:
    """The explained scores: the last layer's pre-activation output, flattened per sample.

    Parameters
    ----------
    layers : list of dict
    x : ndarray, (n, *input_shape)

    Returns
    -------
    ndarray, float64, (n, K)
        ``K`` is the number of output units (for a conv last layer: all output cells, row-major).
    """
    out = forward(layers, x)[-1]
    return out.reshape(out.shape[0], -1)


def _targets(targets, n: int, k: int) -> np.ndarray:
    t = np.asarray(targets)
    if t.ndim == 0:
        t = np.full(n, int(t))
    t = t.astype(np.int64).reshape(-1)
    if t.shape != (n,):
        raise ValueError(f"targets {np.asarray(targets).shape} do not match the batch of {n}")
    if ((t < 0) | (t >= k)).any():
        raise ValueError(f"targets {t.tolist()} out of range for {k} outputs")
    return t


def _one_hot_start(out: np.ndarray, targets, *, scale: bool) -> np.ndarray:
    """One-hot(target) per sample, times the logit when ``scale``, in the output's natural shape."""
    n = out.shape[0]
    flat = out.reshape(n, -1)
    t = _targets(targets, n, flat.shape[1])
    start = np.zeros_like(flat)
    start[np.arange(n), t] = flat[np.arange(n), t] if scale else 1.0
    return start.reshape(out.shape)


# -- gradient ----------------------------------------------------------------------------------
def gradient(layers: Sequence[Mapping], x: np.ndarray, targets) -> np.ndarray:
    """``d logit[target] / d x`` per sample, by manual backpropagation.

    Max pooling routes the gradient to each window's maximum (ties: the first maximum in row-major
    order within the window; overlapping windows accumulate).  The ReLU derivative is 0 at 0.

    Parameters
    ----------
    layers : list of dict
    x : ndarray, (n, *input_shape)
    targets : int or array-like of int, (n,)
        Index into each sample's flattened logits.

    Returns
    -------
    ndarray, float64, the shape of ``x``
    """
    acts = forward(layers, x)
    g = _one_hot_start(acts[-1], targets, scale=False)
    for i in range(len(layers) - 1, -1, -1):
        layer, a = layers[i], acts[i]
        kind = layer["type"]
        if kind in ("conv", "dense"):
            if i < len(layers) - 1:  # the last layer is explained before its activation
                act = _activation(layer)
                if act == "relu":
                    g = g * (_preactivation(layer, a) > 0)
                elif act == "softmax":
                    y = acts[i + 1]
                    g = y * (g - (g * y).sum(axis=-1, keepdims=True))
            _, bwd, kernel, _ = _linear_ops(layer, a.shape)
            g = bwd(g, kernel)
        elif kind == "batchnorm":
            g = g * _bn_scale_shift(layer)[0]
        elif kind == "maxpool":
            g = _maxpool_route(g, _maxpool(a, layer)[1], layer, a.shape)
        elif kind == "avgpool":
            g = _avgpool_transpose(g, layer, a.shape)
        elif kind == "globalavgpool":
            axes = _spatial_axes(a.shape)
            count = np.prod([a.shape[ax] for ax in axes])
            g = np.broadcast_to(np.expand_dims(g, axes), a.shape) / count
        elif kind == "flatten":
            g = g.reshape(a.shape)
        elif kind == "relu":
            g = g * (a > 0)
        # dropout: identity
    return np.array(g, dtype=F64)


# -- LRP rules ---------------------------------------------------------------------------------
def _rule_for(layer: Mapping, rules: Mapping) -> tuple[str, dict]:
    name = layer.get("name")
    if name not in rules:
        raise KeyError(f"no LRP rule for layer {name!r} ({layer['type']})")
    entry = rules[name]
    try:
        rule, params = entry
    except (TypeError, ValueError):
        raise ValueError(f"layer {name!r}: a rule must be (rule_name, params_dict), not {entry!r}") from None
    params = dict(params or {})
    allowed = LINEAR_RULES if layer["type"] in ("conv", "dense") else ("epsilon", "zero")
    if rule not in allowed:
        raise ValueError(f"layer {name!r} ({layer['type']}): rule {rule!r} is not one of {allowed}")
    return rule, params


def _param(params: Mapping, key: str, layer: Mapping):
    if key not in params:
        raise KeyError(f"layer {layer.get('name')!r}: rule parameter {key!r} is missing")
    return params[key]


def _eps_of(rule: str, params: Mapping, layer: Mapping) -> float:
    return ZERO_EPS if rule == "zero" else float(_param(params, "epsilon", layer))


def _lrp_linear(layer: Mapping, a: np.ndarray, r: np.ndarray, rule: str, params: Mapping) -> np.ndarray:
    """One conv or dense layer: relevance ``r`` (output-shaped) to relevance at its input ``a``."""
    fwd, bwd, w, b = _linear_ops(layer, a.shape)
    if rule in ("zero", "epsilon"):
        z = fwd(a, w) + b
        s = r / stabilize(z, _eps_of(rule, params, layer))
        return a * bwd(s, w)
    ap, an = np.maximum(a, 0.0), np.minimum(a, 0.0)
    if rule == "gamma":
        g = float(_param(params, "gamma", layer))
        wp, wn = w + g * np.maximum(w, 0.0), w + g * np.minimum(w, 0.0)
        bp, bn = b + g * np.maximum(b, 0.0), b + g * np.minimum(b, 0.0)
        z = fwd(a, w) + b
        p = fwd(ap, wp) + fwd(an, wn) + bp
        q = fwd(ap, wn) + fwd(an, wp) + bn
        sp = (z > 0) * r / stabilize(p, RULE_EPS)
        sn = (z < 0) * r / stabilize(q, RULE_EPS)
        return ap * bwd(sp, wp) + an * bwd(sp, wn) + ap * bwd(sn, wn) + an * bwd(sn, wp)
    if rule == "alphabeta":
        alpha, beta = float(_param(params, "alpha", layer)), float(_param(params, "beta", layer))
        wp, wn = np.maximum(w, 0.0), np.minimum(w, 0.0)
        p = fwd(ap, wp) + fwd(an, wn) + np.maximum(b, 0.0)
        q = fwd(ap, wn) + fwd(an, wp) + np.minimum(b, 0.0)
        sp = r / stabilize(p, RULE_EPS)
        sn = r / stabilize(q, RULE_EPS)
        return alpha * (ap * bwd(sp, wp) + an * bwd(sp, wn)) - beta * (ap * bwd(sn, wn) + an * bwd(sn, wp))
    if rule == "box":
        low = np.broadcast_to(_f64(_param(params, "low", layer)), a.shape[1:])
        high = np.broadcast_to(_f64(_param(params, "high", layer)), a.shape[1:])
        low, high = np.broadcast_to(low, a.shape), np.broadcast_to(high, a.shape)
        wp, wn = np.maximum(w, 0.0), np.minimum(w, 0.0)
        d = fwd(a, w) - fwd(low, wp) - fwd(high, wn)
        s = r / stabilize(d, RULE_EPS)
        return a * bwd(s, w) - low * bwd(s, wp) - high * bwd(s, wn)
    if rule in ("flat", "wsquare"):
        w2 = np.ones_like(w) if rule == "flat" else w ** 2
        d = fwd(np.ones_like(a), w2)
        s = r / stabilize(d, RULE_EPS)
        return bwd(s, w2)
    raise ValueError(f"layer {layer.get('name')!r}: unknown rule {rule!r}")


def _lrp_layer(layer: Mapping, a: np.ndarray, r: np.ndarray, rules: Mapping) -> np.ndarray:
    kind = layer["type"]
    if kind in ("conv", "dense"):
        rule, params = _rule_for(layer, rules)
        return _lrp_linear(layer, a, r, rule, params)
    if kind == "batchnorm":
        rule, params = _rule_for(layer, rules)
        s, t = _bn_scale_shift(layer)
        return a * s * r / stabilize(s * a + t, _eps_of(rule, params, layer))
    if kind == "avgpool":
        rule, params = _rule_for(layer, rules)
        z = _avgpool(a, layer)
        return a * _avgpool_transpose(r / stabilize(z, _eps_of(rule, params, layer)), layer, a.shape)
    if kind == "globalavgpool":
        rule, params = _rule_for(layer, rules)
        axes = _spatial_axes(a.shape)
        count = np.prod([a.shape[ax] for ax in axes])
        s = r / stabilize(a.mean(axis=axes), _eps_of(rule, params, layer))
        return a * np.expand_dims(s, axes) / count
    if kind == "maxpool":
        return _maxpool_route(r, _maxpool(a, layer)[1], layer, a.shape)
    if kind == "flatten":
        return r.reshape(a.shape)
    if kind in ("dropout", "relu"):
        return r
    raise ValueError(f"layer {layer.get('name')!r}: unknown type {kind!r}")


def lrp(layers: Sequence[Mapping], x: np.ndarray, targets, rules: Mapping, *, return_layers: bool = False):
    """Layer-wise relevance propagation of ``logit[target]`` down to the input.

    The relevance starts at the last layer's pre-activation output as ``one_hot(target) * logit`` and
    is propagated backwards layer by layer.  Activations inside a layer, ``relu`` and ``dropout``
    layers pass relevance unchanged, ``flatten`` reshapes it back, max pooling routes it to each
    window's (first) maximum, and conv, dense, batchnorm and (global) average pooling layers apply the
    rule ``rules[layer["name"]]``.

    Parameters
    ----------
    layers : list of dict
        The network (see the module docstring).
    x : ndarray, (n, *input_shape)
    targets : int or array-like of int, (n,)
        Index into each sample's flattened logits.
    rules : mapping
        ``name -> (rule_name, params_dict)`` for every conv, dense, batchnorm, avgpool and
        globalavgpool layer.  Conv/dense: ``"zero"``, ``"epsilon"`` ``{"epsilon"}``, ``"gamma"``
        ``{"gamma"}``, ``"alphabeta"`` ``{"alpha", "beta"}``, ``"box"`` ``{"low", "high"}``, ``"flat"``,
        ``"wsquare"``.  Batchnorm and pooling: ``"epsilon"`` ``{"epsilon"}`` (or ``"zero"``, the
        epsilon rule with ``epsilon = 1e-12``).
    return_layers : bool
        Also return the relevance at the input of every layer.

    Returns
    -------
    relevance : ndarray, float64, the shape of ``x``
    per_layer : list of ndarray, length ``len(layers)``, only with ``return_layers``
        Entry ``i`` is the relevance at the input of layer ``i`` (shaped like that input); entry 0 is
        ``relevance``.

    Raises
    ------
    KeyError
        A rule-bearing layer has no rule, or a rule parameter is missing (the message names the layer).
    ValueError
        An unknown rule, or a rule not allowed for the layer type (the message names the layer).
    """
    _check_net(layers)
    for layer in layers:  # fail before any work on a missing or bad rule
        if layer["type"] in RULE_LAYERS:
            _rule_for(layer, rules)
    acts = forward(layers, x)
    r = _one_hot_start(acts[-1], targets, scale=True)
    per_layer: list[np.ndarray] = [None] * len(layers)  # type: ignore[list-item]
    for i in range(len(layers) - 1, -1, -1):
        r = _lrp_layer(layers[i], acts[i], r, rules)
        per_layer[i] = r
    r = np.array(r, dtype=F64)
    per_layer[0] = r
    return (r, per_layer) if return_layers else r
