"""The compiled LRP pass: a float32 forward through the chain, then relevance back, layer by layer.

One ``tf.function`` is built per explainer (its weights are those the model had when the
explainer was made: a model whose weights change, as in the randomisation checks, needs a new
explainer) and explains a batch at once: samples do not interact, so every rule's
gradient-based ``W^T s`` is per sample.
"""
from __future__ import annotations

import numpy as np

from .network import Step
from .rules import Rule, relevance_in, transpose


def _operator(tf, step: Step):
    """``(linear(a, kernel), kernel, bias)`` of a ruled step, or the routing op of the others."""
    o = step.options
    if step.kind == "conv":
        return (lambda a, k: tf.nn.convolution(a, k, strides=list(o["strides"]), padding=o["padding"]),
                tf.constant(step.weights["kernel"]), tf.constant(step.weights["bias"]))
    if step.kind == "dense":
        return lambda a, k: tf.matmul(a, k), tf.constant(step.weights["kernel"]), tf.constant(step.weights["bias"])
    if step.kind == "affine":
        return lambda a, k: a * k, tf.constant(step.weights["scale"]), tf.constant(step.weights["shift"])
    if step.kind == "avgpool":
        return (lambda a, _: tf.nn.avg_pool(a, list(o["pool"]), list(o["strides"]), o["padding"]), None, 0.0)
    if step.kind == "globalavg":
        return lambda a, _: tf.reduce_mean(a, axis=list(range(1, len(a.shape) - 1))), None, 0.0
    if step.kind == "maxpool":
        return (lambda a, _: tf.nn.max_pool(a, list(o["pool"]), list(o["strides"]), o["padding"]), None, 0.0)
    if step.kind == "globalmax":
        return lambda a, _: tf.reduce_max(a, axis=list(range(1, len(a.shape) - 1))), None, 0.0
    return None


def build_pass(steps: list[Step], rules: dict[str, Rule], input_shape, bounds=None):
    """A compiled ``f(x, targets) -> (relevance, scores, targets, sums)``.

    Parameters
    ----------
    steps : list of Step
    rules : dict
        Layer name -> :class:`~xaispec.explain.lrp.rules.Rule` for every ruled step.
    input_shape : tuple
        The model input without the batch axis.
    bounds : (low, high) or None
        The input's bounds for the box rule, scalars or arrays of ``input_shape``.

    Returns
    -------
    callable
        ``relevance`` (n, *input_shape) at the input; ``scores`` (n,) the explained logits;
        ``targets`` (n,) the explained classes (a target of -1 becomes the predicted class);
        ``sums`` (n, len(steps) + 1) the relevance summed at the input of every step and at the
        logits, for conservation checks.
    """
    import tensorflow as tf

    ops = [_operator(tf, s) for s in steps]
    box = None if bounds is None else tuple(tf.constant(np.asarray(b, np.float32)) for b in bounds)
    spec = [tf.TensorSpec((None, *input_shape), tf.float32), tf.TensorSpec((None,), tf.int32)]

    @tf.function(input_signature=spec)
    def lrp(x, targets):
        # forward in float32, keeping every step's input
        inputs, a = [], x
        for step, op in zip(steps, ops):
            inputs.append(a)
            if step.kind == "flatten":
                a = tf.reshape(a, (tf.shape(a)[0], -1))
            elif op is not None:
                linear, kernel, bias = op
                a = linear(a, kernel) + bias
            if step.options.get("activation") == "relu" and step is not steps[-1]:
                a = tf.nn.relu(a)
        logits = a
        # relevance starts at the explained class's logit (-1: the predicted class)
        targets = tf.where(targets < 0, tf.argmax(logits, axis=1, output_type=tf.int32), targets)
        picked = tf.one_hot(targets, tf.shape(logits)[1], dtype=logits.dtype)
        R = picked * logits
        sums = [tf.reduce_sum(R, axis=1)]
        for step, op, a in reversed(list(zip(steps, ops, inputs))):
            if step.kind == "flatten":
                R = tf.reshape(R, tf.shape(a))
            elif step.kind in ("maxpool", "globalmax"):
                # the winner takes it all: the routing of the gradient
                R = transpose(tf, op[0], None, a, R)
            elif op is not None:
                R = relevance_in(tf, rules[step.name], op[0], op[1], op[2], a, R, box)
            sums.append(tf.reduce_sum(tf.reshape(R, (tf.shape(R)[0], -1)), axis=1))
        return R, tf.reduce_sum(picked * logits, axis=1), targets, tf.stack(sums[::-1], axis=1)

    return lrp
