"""The LRP rules: how one layer hands the relevance of its outputs to its inputs.

For a linear layer ``z = W a + b`` (convolution or dense) with output relevance ``R``:

* ``zero`` (LRP-0): ``R_in = a * W^T (R / z)``;
* ``epsilon`` (LRP-epsilon): the denominator ``z + eps * sign(z)``;
* ``gamma``: positive weights (and biases) favoured, ``w + gamma * max(0, w)``, in the generalised
  form that also handles negative inputs (Andeol et al., 2021; as zennit's ``Gamma``);
* ``alphabeta`` (LRP-alpha-beta): positive and negative contributions apart, ``alpha - beta = 1``
  (``alpha1beta0`` is the z+ rule);
* ``box`` (z^B, first layer only): inputs bounded in ``[low, high]``;
* ``flat`` and ``wsquare`` (first layer only): relevance spread over the receptive field evenly
  or in proportion to the squared weights, for inputs without natural bounds.

Every denominator ``d`` is stabilised as ``d + eps * ((d == 0) + sign(d))`` (zennit's
``stabilize``): ``eps`` is the rule's epsilon for ``epsilon`` and 1e-6 elsewhere. Each rule is
written with automatic differentiation: ``W^T s`` is the gradient of ``sum(W a * s)`` with
respect to ``a``, so one function serves convolutions and dense layers alike.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ParameterError

#: rule names, with the parameters each takes
RULES = {"zero": (), "epsilon": ("epsilon",), "gamma": ("gamma",), "alphabeta": ("alpha", "beta"),
         "box": (), "flat": (), "wsquare": ()}
#: rules that only make sense on the layer nearest the input (they ignore or bound the input)
INPUT_RULES = ("box", "flat", "wsquare")
#: the stabiliser of every denominator but the epsilon rule's
STABILISER = 1e-6
#: short names accepted in composites given as text
ALIASES = {"lrp0": "zero", "zplus": "alphabeta:1,0", "alpha1beta0": "alphabeta:1,0",
           "alpha2beta1": "alphabeta:2,1", "zb": "box", "w2": "wsquare"}
_DEFAULTS = {"epsilon": {"epsilon": 1e-6}, "gamma": {"gamma": 0.25}, "alphabeta": {"alpha": 1.0, "beta": 0.0}}


@dataclass(frozen=True)
class Rule:
    """One rule and its parameters (``epsilon``, ``gamma``, ``alpha``/``beta``)."""

    name: str
    epsilon: float = 1e-6
    gamma: float = 0.25
    alpha: float = 1.0
    beta: float = 0.0

    def __str__(self) -> str:
        params = {"epsilon": (self.epsilon,), "gamma": (self.gamma,), "alphabeta": (self.alpha, self.beta)}
        values = params.get(self.name)
        return self.name if values is None else f"{self.name}:{','.join(f'{v:g}' for v in values)}"


def parse_rule(text) -> Rule:
    """A :class:`Rule` from text such as ``epsilon``, ``epsilon:0.1``, ``gamma:0.25``,
    ``alphabeta:2,1``, ``zplus``, ``box`` or ``flat``.

    Raises
    ------
    ParameterError
        For an unknown rule, a wrong number of parameters, or alpha - beta != 1.
    """
    if isinstance(text, Rule):
        return text
    if not isinstance(text, str):
        raise ParameterError(f"lrp: rule {text!r} must be text such as 'epsilon:0.1' or 'gamma:0.25'")
    spec = ALIASES.get(text.strip().lower(), text.strip().lower())
    name, _, args = spec.partition(":")
    if name not in RULES:
        raise ParameterError(f"lrp: unknown rule {text!r}; valid: {', '.join(sorted(RULES))} "
                             f"(or {', '.join(sorted(ALIASES))})")
    keys = RULES[name]
    values = dict(_DEFAULTS.get(name, {}))
    if args:
        try:
            numbers = [float(v) for v in args.split(",")]
        except ValueError:
            raise ParameterError(f"lrp: rule {text!r} has a parameter that is not a number") from None
        if len(numbers) != len(keys):
            raise ParameterError(f"lrp: rule {text!r} takes {len(keys)} parameter(s) ({', '.join(keys) or 'none'})")
        values.update(zip(keys, numbers))
    if name == "epsilon" and not values["epsilon"] > 0:
        raise ParameterError(f"lrp: rule {text!r}: epsilon must be > 0 (LRP-0 is the rule 'zero')")
    if name == "gamma" and not values["gamma"] >= 0:
        raise ParameterError(f"lrp: rule {text!r}: gamma must be >= 0")
    if name == "alphabeta" and (values["alpha"] < 0 or values["beta"] < 0 or abs(values["alpha"] - values["beta"] - 1) > 1e-9):
        raise ParameterError(f"lrp: rule {text!r}: alpha and beta must be >= 0 with alpha - beta = 1")
    return Rule(name, **values)


# -- the rules in TensorFlow ------------------------------------------------------------------
def stabilise(tf, d, eps: float):
    """``d + eps * ((d == 0) + sign(d))``: away from zero, with the sign kept."""
    return d + eps * (tf.cast(tf.equal(d, 0.0), d.dtype) + tf.sign(d))


def transpose(tf, linear, kernel, a_like, s):
    """``W^T s``: the gradient of ``sum(linear(a, kernel) * s)`` with respect to ``a``."""
    with tf.GradientTape() as tape:
        tape.watch(a_like)
        z = linear(a_like, kernel)
    return tape.gradient(z, a_like, output_gradients=s)


def relevance_in(tf, rule: Rule, linear, kernel, bias, a, R, bounds=None):
    """The relevance of a linear layer's inputs under ``rule``.

    Parameters
    ----------
    linear : callable
        ``linear(a, kernel) -> W a`` (no bias), differentiable in ``a``.
    kernel, bias : tf.Tensor
    a : tf.Tensor, shape (n, *in_shape)
        The layer's input activations.
    R : tf.Tensor, shape (n, *out_shape)
        The relevance of its outputs (pre-activation).
    bounds : (low, high) tensors broadcastable to ``a``, for the ``box`` rule.

    Returns
    -------
    tf.Tensor, shape of ``a``
    """
    if rule.name in ("zero", "epsilon"):
        eps = 1e-12 if rule.name == "zero" else rule.epsilon
        s = R / stabilise(tf, linear(a, kernel) + bias, eps)
        return a * transpose(tf, linear, kernel, a, s)
    if rule.name in ("flat", "wsquare"):
        w = tf.ones_like(kernel) if rule.name == "flat" else kernel * kernel
        ones = tf.ones_like(a)
        s = R / stabilise(tf, linear(ones, w), STABILISER)
        return transpose(tf, linear, w, ones, s)
    if rule.name == "box":
        # the bounds are the same for every sample: their forward terms are computed once
        low, high = (tf.cast(b, a.dtype) for b in bounds)
        one_low = tf.broadcast_to(low, tf.shape(a)[1:])[None]
        one_high = tf.broadcast_to(high, tf.shape(a)[1:])[None]
        wp, wn = tf.maximum(kernel, 0.0), tf.minimum(kernel, 0.0)
        s = R / stabilise(tf, linear(a, kernel) - linear(one_low, wp) - linear(one_high, wn), STABILISER)
        low_b, high_b = tf.broadcast_to(low, tf.shape(a)), tf.broadcast_to(high, tf.shape(a))
        return (a * transpose(tf, linear, kernel, a, s) - low_b * transpose(tf, linear, wp, low_b, s)
                - high_b * transpose(tf, linear, wn, high_b, s))
    ap, an = tf.maximum(a, 0.0), tf.minimum(a, 0.0)
    wp, wn = tf.maximum(kernel, 0.0), tf.minimum(kernel, 0.0)
    # the positive contributions A = W+ a+ + W- a-; the negative ones are W a - A
    wa = linear(a, kernel)
    positive = linear(ap, wp) + linear(an, wn)
    if rule.name == "gamma":
        g = rule.gamma
        up, un = kernel + g * wp, kernel + g * wn
        z = wa + bias
        # (W + g W+) a+ + (W + g W-) a- + b + g b+ = z + g (A + b+); its mirror z + g (W a - A + b-)
        sp = tf.cast(z > 0, z.dtype) * R / stabilise(tf, z + g * (positive + tf.maximum(bias, 0.0)), STABILISER)
        sn = tf.cast(z < 0, z.dtype) * R / stabilise(tf, z + g * (wa - positive + tf.minimum(bias, 0.0)), STABILISER)
        return (ap * (transpose(tf, linear, up, ap, sp) + transpose(tf, linear, un, ap, sn))
                + an * (transpose(tf, linear, un, an, sp) + transpose(tf, linear, up, an, sn)))
    # alpha-beta: positive contributions (a+ w+, a- w-) and negative ones (a+ w-, a- w+) apart
    sp = R / stabilise(tf, positive + tf.maximum(bias, 0.0), STABILISER)
    kept = ap * transpose(tf, linear, wp, ap, sp) + an * transpose(tf, linear, wn, an, sp)
    if rule.beta == 0:
        return rule.alpha * kept
    sn = R / stabilise(tf, wa - positive + tf.minimum(bias, 0.0), STABILISER)
    negative = ap * transpose(tf, linear, wn, ap, sn) + an * transpose(tf, linear, wp, an, sn)
    return rule.alpha * kept - rule.beta * negative
