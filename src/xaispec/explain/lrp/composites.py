"""Composites: which LRP rule each layer of a network gets.

A named composite chooses by layer type and position, after zennit's and iNNvestigate's
presets:

=========================== ================ =================== ================
composite                   first layer      other convolutions  dense layers
=========================== ================ =================== ================
``epsilon_gamma_box``       box (z^B)        gamma 0.25          epsilon 1e-6
``epsilon_plus_flat``       flat             alpha1-beta0 (z+)   epsilon 1e-6
``epsilon_plus``            alpha1-beta0     alpha1-beta0        epsilon 1e-6
``epsilon_alpha2_beta1_flat`` flat           alpha2-beta1        epsilon 1e-6
``preset_a`` (iNNvestigate) alpha1-beta0     alpha1-beta0        epsilon 0.1
``preset_b`` (iNNvestigate) alpha2-beta1     alpha2-beta1        epsilon 0.1
``zero``                    LRP-0            LRP-0               LRP-0
``epsilon``                 epsilon 1e-6     epsilon 1e-6        epsilon 1e-6
=========================== ================ =================== ================

Batch normalisation (a per-channel affine map ``y = scale * x + shift``; in these models it
follows the ReLU, so it cannot be folded into a convolution) and average pooling take the
epsilon rule with the composite's dense epsilon; max pooling hands relevance to the winning
input (as its gradient does). A composite can also be a mapping from layer names to rules,
with the key ``base`` naming the composite for every layer the mapping leaves out.
"""
from __future__ import annotations

from ...errors import ParameterError
from .network import RULED, Step, first_linear
from .rules import INPUT_RULES, Rule, parse_rule

#: name -> (first linear layer, other convolutions, dense layers)
COMPOSITES = {
    "epsilon_gamma_box": ("box", "gamma:0.25", "epsilon:1e-6"),
    "epsilon_plus_flat": ("flat", "alphabeta:1,0", "epsilon:1e-6"),
    "epsilon_plus": ("alphabeta:1,0", "alphabeta:1,0", "epsilon:1e-6"),
    "epsilon_alpha2_beta1_flat": ("flat", "alphabeta:2,1", "epsilon:1e-6"),
    "preset_a": ("alphabeta:1,0", "alphabeta:1,0", "epsilon:0.1"),
    "preset_b": ("alphabeta:2,1", "alphabeta:2,1", "epsilon:0.1"),
    "zero": ("zero", "zero", "zero"),
    "epsilon": ("epsilon:1e-6", "epsilon:1e-6", "epsilon:1e-6"),
}
#: the default where the input has known bounds (dB spectrograms) and where it has none
BOUNDED_DEFAULT, UNBOUNDED_DEFAULT = "epsilon_gamma_box", "epsilon_plus_flat"


def default_composite(bounded: bool) -> str:
    """``epsilon_gamma_box`` for bounded inputs (the box rule needs the bounds), else
    ``epsilon_plus_flat``: the recommendation of Montavon et al. (2019) -- epsilon in the dense
    layers, a rule favouring positive evidence in the convolutions, an input-layer rule."""
    return BOUNDED_DEFAULT if bounded else UNBOUNDED_DEFAULT


def _named(name: str, steps: list[Step]) -> dict[str, Rule]:
    first, conv, dense = (parse_rule(r) for r in COMPOSITES[name])
    # the rule of the layers without weights: epsilon with the dense layers' stabiliser
    passive = dense if dense.name in ("zero", "epsilon") else Rule("epsilon")
    start = first_linear(steps)
    rules = {}
    for step in steps:
        if step.kind not in RULED:
            continue
        if step.name == start:
            rules[step.name] = first
        elif step.kind == "conv":
            rules[step.name] = conv
        elif step.kind == "dense":
            rules[step.name] = dense
        else:
            rules[step.name] = passive
    return rules


def resolve(composite, steps: list[Step], *, bounded: bool) -> dict[str, Rule]:
    """The rule of every ruled layer (convolutions, dense, batch normalisation, average pooling).

    Parameters
    ----------
    composite : str or dict
        A name in :data:`COMPOSITES`, ``"auto"`` (:func:`default_composite`), or a mapping
        ``{layer name: rule text}`` with an optional ``base`` composite for the rest.
    steps : list of Step
        The network (:func:`~xaispec.explain.lrp.network.read_network`).
    bounded : bool
        Whether the input's bounds are known (the box rule needs them).

    Raises
    ------
    ParameterError
        For an unknown composite or layer name, an input rule on a deeper layer, a rule
        other than epsilon/zero on a layer without weights, or the box rule without bounds.
    """
    names = {s.name: s for s in steps}
    if isinstance(composite, dict):
        mapping = dict(composite)
        base = mapping.pop("base", "auto")
        if isinstance(base, dict):
            raise ParameterError("lrp: a composite's 'base' must be a composite name")
        rules = resolve(base, steps, bounded=bounded)
        for layer, text in mapping.items():
            if layer not in names or names[layer].kind not in RULED:
                ruled = [s.name for s in steps if s.kind in RULED]
                raise ParameterError(f"lrp: composite names layer {layer!r}, which is not a layer with a rule; "
                                     f"layers: {', '.join(ruled)}")
            rules[layer] = parse_rule(text)
    else:
        name = default_composite(bounded) if composite in (None, "auto") else composite
        if name not in COMPOSITES:
            raise ParameterError(f"lrp: unknown composite {composite!r}; valid: auto, {', '.join(COMPOSITES)} "
                                 "or a mapping of layer names to rules")
        rules = _named(name, steps)
    start = first_linear(steps)
    for layer, rule in rules.items():
        kind = names[layer].kind
        if rule.name in INPUT_RULES and layer != start:
            raise ParameterError(f"lrp: rule {rule} is for the first layer only, not {layer!r}")
        if kind not in ("conv", "dense") and rule.name not in ("zero", "epsilon"):
            raise ParameterError(f"lrp: layer {layer!r} has no weights to modify; give it 'epsilon' or 'zero', not {rule}")
        if rule.name == "box" and not bounded:
            raise ParameterError(f"lrp: the box rule on {layer!r} needs the input's bounds (lrp bounds=[low, high]); "
                                 f"use flat or wsquare for inputs without bounds")
    return rules
