"""LRP: identities, conservation, and agreement with a plain-numpy reference (lrp_reference.py)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from xaispec.errors import ParameterError
from xaispec.explain import _model, get_explainer
from xaispec.explain.lrp import COMPOSITES, parse_rule

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lrp_reference as ref  # noqa: E402

keras = pytest.importorskip("keras")
L = keras.layers


# -- networks ------------------------------------------------------------------------------------
def _randomise_bn(model, rng, *, zero_shift=False):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.gamma.shape[0]
            beta = np.zeros(c) if zero_shift else rng.normal(0, 0.3, c)
            mean = np.zeros(c) if zero_shift else rng.normal(0, 0.3, c)
            layer.set_weights([rng.uniform(0.6, 1.6, c), beta, mean, rng.uniform(0.5, 2.0, c)])


def net2d(seed=0, *, bias=True, zero_shift=False, shape=(14, 14, 2)):
    """conv/2 -> BN -> maxpool -> conv same -> BN -> avgpool -> flatten -> dense -> dropout -> dense."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape),
        L.Conv2D(6, 3, strides=2, activation="relu", use_bias=bias, name="conv1"),
        L.BatchNormalization(name="bn1"), L.MaxPooling2D(2, 1, name="pool1"),
        L.Conv2D(8, 3, padding="same", activation="relu", use_bias=bias, name="conv2"),
        L.BatchNormalization(name="bn2"), L.AveragePooling2D(2, name="avg"),
        L.Flatten(name="flat"), L.Dense(16, activation="relu", use_bias=bias, name="dense1"),
        L.Dropout(0.5, name="drop"), L.Dense(3, activation="softmax", use_bias=bias, name="out"),
    ])
    rng = np.random.default_rng(seed)
    _randomise_bn(model, rng, zero_shift=zero_shift)
    if bias:
        for layer in model.layers:
            if isinstance(layer, (L.Conv2D, L.Dense)):
                layer.bias.assign(rng.normal(0, 0.05, layer.bias.shape).astype(np.float32))
    return model


def net1d(seed=1, *, shape=(40, 1)):
    """conv1d -> BN -> maxpool same -> conv1d -> global average -> dense (the 1D CNN's kinds)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape),
        L.Conv1D(8, 5, padding="same", activation="relu", name="c1"), L.BatchNormalization(name="b1"),
        L.MaxPooling1D(5, strides=2, padding="same", name="p1"),
        L.Conv1D(8, 3, activation="relu", name="c2"), L.GlobalAveragePooling1D(name="gap"),
        L.Dense(4, activation="softmax", name="out"),
    ])
    _randomise_bn(model, np.random.default_rng(seed))
    return model


def as_reference(model) -> list[dict]:
    """The model as the reference's layer dicts (weights read through Keras's public API)."""
    out = []
    for layer in model.layers:
        name, cfg = layer.name, layer.get_config()
        if isinstance(layer, (L.Conv1D, L.Conv2D, L.Dense)):
            kernel, bias = layer.get_weights() if layer.use_bias else (layer.get_weights()[0], None)
            bias = np.zeros(kernel.shape[-1]) if bias is None else bias
            kind = "dense" if isinstance(layer, L.Dense) else "conv"
            entry = {"type": kind, "name": name, "kernel": kernel, "bias": bias, "activation": cfg["activation"]}
            if kind == "conv":
                entry.update(strides=tuple(cfg["strides"]), padding=cfg["padding"])
            out.append(entry)
        elif isinstance(layer, L.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            out.append({"type": "batchnorm", "name": name, "gamma": gamma, "beta": beta, "mean": mean,
                        "var": var, "epsilon": cfg["epsilon"]})
        elif isinstance(layer, (L.MaxPooling1D, L.MaxPooling2D, L.AveragePooling1D, L.AveragePooling2D)):
            kind = "maxpool" if "Max" in type(layer).__name__ else "avgpool"
            out.append({"type": kind, "name": name, "pool": tuple(cfg["pool_size"]),
                        "strides": tuple(cfg["strides"]), "padding": cfg["padding"]})
        elif isinstance(layer, (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D)):
            out.append({"type": "globalavgpool", "name": name})
        elif isinstance(layer, L.Flatten):
            out.append({"type": "flatten", "name": name})
        elif isinstance(layer, L.Dropout):
            out.append({"type": "dropout", "name": name})
        else:
            raise AssertionError(f"no reference form for {layer.name}")
    return out


def reference_rules(rules: dict, bounds=None) -> dict:
    """Our rule texts (params['rules']) as the reference's (name, params) pairs."""
    out = {}
    for layer, text in rules.items():
        rule = parse_rule(text)
        params = {"epsilon": {"epsilon": rule.epsilon}, "gamma": {"gamma": rule.gamma},
                  "alphabeta": {"alpha": rule.alpha, "beta": rule.beta},
                  "box": {"low": None if bounds is None else bounds[0], "high": None if bounds is None else bounds[1]}}
        out[layer] = (rule.name, params.get(rule.name, {}))
    return out


def inputs(shape, n=4, seed=3, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, (n, *shape)).astype(np.float32)


def relative_error(ours, theirs) -> float:
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


# -- identities ----------------------------------------------------------------------------------
def test_lrp0_without_biases_is_gradient_times_input():
    model = net2d(bias=False, zero_shift=True)
    x = inputs((14, 14, 2))
    e = get_explainer("lrp", model, composite="zero").explain(x, targets=[0, 1, 2, 0])
    grads, _ = _model.gradients(model, x, e.targets)
    expected = (grads * x).sum(axis=-1)
    assert relative_error(e.maps, expected) < 1e-5


@pytest.mark.parametrize("composite", ["zero", "epsilon"])
def test_relevance_is_conserved_layer_by_layer_without_biases(composite):
    model = net2d(bias=False, zero_shift=True)
    x = inputs((14, 14, 2), seed=5)
    e = get_explainer("lrp", model, composite=composite).explain(x)
    sums, logits = e.extra["sums"], e.extra["scores"]
    assert np.abs(logits).min() > 1e-3            # a conservation test needs a logit away from zero
    np.testing.assert_allclose(sums, np.repeat(logits[:, None], sums.shape[1], axis=1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(e.maps.reshape(len(x), -1).sum(axis=1), logits, rtol=1e-4)


def test_scores_are_the_models_logits_and_targets_default_to_the_prediction():
    model = net2d()
    x = inputs((14, 14, 2), seed=7)
    e = get_explainer("lrp", model).explain(x)
    logits = _model.predict(_model.logit_model(model), x)
    np.testing.assert_array_equal(e.targets, logits.argmax(axis=1))
    np.testing.assert_allclose(e.extra["scores"], logits.max(axis=1), rtol=1e-5, atol=1e-6)


# -- agreement with the numpy reference, rule by rule ----------------------------------------------
BOUNDS = (-1.0, 1.0)
CASES = [(name, None) for name in COMPOSITES if name != "epsilon_gamma_box"] + [
    ("epsilon_gamma_box", BOUNDS),
    ({"conv1": "wsquare", "base": "epsilon_plus"}, None),
    ({"conv1": "box", "conv2": "gamma:0.5", "dense1": "epsilon:0.1", "bn1": "epsilon:0.01"}, BOUNDS),
    ({"conv1": "alphabeta:2,1", "conv2": "zplus", "out": "zero"}, None),
]


@pytest.mark.parametrize("composite,bounds", CASES, ids=lambda c: str(c)[:40])
def test_every_rule_agrees_with_the_numpy_reference_2d(composite, bounds):
    model = net2d()
    x = inputs((14, 14, 2), seed=11)
    e = get_explainer("lrp", model, composite=composite, bounds=bounds).explain(x, targets=[0, 1, 2, 1])
    expected = ref.lrp(as_reference(model), x.astype(np.float64), e.targets, reference_rules(e.params["rules"], bounds))
    assert relative_error(e.maps, expected.sum(axis=-1)) < 1e-5, e.params["rules"]


@pytest.mark.parametrize("composite", ["zero", "epsilon_plus_flat", "preset_b",
                                       {"c1": "wsquare", "c2": "gamma:0.25", "base": "epsilon"}], ids=str)
def test_every_rule_agrees_with_the_numpy_reference_1d(composite):
    model = net1d()
    x = inputs((40, 1), seed=13)
    e = get_explainer("lrp", model, composite=composite).explain(x, targets=[3, 2, 1, 0])
    expected = ref.lrp(as_reference(model), x.astype(np.float64), e.targets, reference_rules(e.params["rules"]))
    assert relative_error(e.maps, expected[..., 0]) < 1e-5, e.params["rules"]


def test_the_studies_networks_are_read_exactly():
    """Our float32 forward gives each architecture's own logits (random weights, random BN statistics)."""
    from xaispec.models.architectures import build

    rng = np.random.default_rng(0)
    for name, shape in (("alexnet", (227, 227, 1)), ("audionet", (8000, 1)), ("cnn1d", (128, 1)),
                        ("cnn2d", (40, 108, 1))):
        keras.utils.set_random_seed(1)
        model = build(name, 4)
        _randomise_bn(model, rng)
        x = rng.normal(size=(2, *shape)).astype(np.float32)
        e = get_explainer("lrp", model, bounds=(-5.0, 5.0) if name != "cnn1d" else None).explain(x)
        logits = _model.predict(_model.logit_model(model), x)
        np.testing.assert_allclose(e.extra["scores"], logits[np.arange(2), e.targets], rtol=1e-4, atol=1e-5,
                                   err_msg=name)
        assert e.maps.shape == (2, *shape[:-1]) and np.isfinite(e.maps).all()


# -- what it refuses -------------------------------------------------------------------------------
def test_an_unsupported_layer_is_refused_by_name():
    model = keras.Sequential([keras.Input((10, 3)), L.LSTM(4, name="memory"), L.Dense(2, activation="softmax")])
    with pytest.raises(ParameterError, match="'memory'.*LSTM"):
        get_explainer("lrp", model)
    tanh = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3, activation="tanh", name="squash"),
                             L.Flatten(), L.Dense(2, activation="softmax")])
    with pytest.raises(ParameterError, match="'squash'.*tanh"):
        get_explainer("lrp", tanh)


@pytest.mark.parametrize("params,message", [
    ({"composite": "epsilon_gamma_box"}, "box rule on 'conv1' needs the input's bounds"),
    ({"composite": "best"}, "unknown composite 'best'"),
    ({"composite": {"nope": "epsilon"}}, "layer 'nope'"),
    ({"composite": {"conv2": "flat"}}, "first layer only, not 'conv2'"),
    ({"composite": {"bn1": "gamma"}}, "'bn1' has no weights"),
    ({"composite": {"conv2": "gamma:-1"}}, "gamma must be >= 0"),
    ({"composite": {"conv2": "alphabeta:2,2"}}, "alpha - beta = 1"),
    ({"composite": {"conv2": "sharp"}}, "unknown rule 'sharp'"),
    ({"bounds": [1.0, -1.0]}, "low < high"),
])
def test_bad_parameters_are_refused_with_the_value(params, message):
    with pytest.raises(ParameterError, match=message):
        get_explainer("lrp", net2d(), **params)


def test_auto_composite_follows_the_bounds():
    model = net2d()
    assert get_explainer("lrp", model).params["composite"] == "epsilon_plus_flat"
    boxed = get_explainer("lrp", model, bounds=BOUNDS)
    assert boxed.params["composite"] == "epsilon_gamma_box" and boxed.params["rules"]["conv1"] == "box"


@pytest.mark.parametrize("name,shape", [("alexnet", (227, 227, 1)), ("audionet", (8000, 1)), ("cnn1d", (128, 1)),
                                        ("cnn2d", (40, 108, 1))])
def test_every_composite_explains_the_studies_networks(name, shape):
    from xaispec.models.architectures import build

    keras.utils.set_random_seed(2)
    model = build(name, 3)
    _randomise_bn(model, np.random.default_rng(2))
    x = np.random.default_rng(4).uniform(-1, 1, (2, *shape)).astype(np.float32)
    maps = {}
    for composite in COMPOSITES:
        e = get_explainer("lrp", model, composite=composite, bounds=(-1.0, 1.0)).explain(x, targets=[0, 2])
        assert e.maps.shape == (2, *shape[:-1]) and np.isfinite(e.maps).all(), composite
        assert np.abs(e.maps).max() > 0, composite
        maps[composite] = e.maps
    # the composites are different explanations, not one map under several names
    assert not np.allclose(maps["epsilon_gamma_box"], maps["preset_a"])
    assert not np.allclose(maps["epsilon_plus_flat"], maps["epsilon_plus"])


def test_a_new_explainer_sees_weights_changed_in_place():
    """The randomisation checks re-initialise a model's layers in place and explain it again."""
    model = net2d(bias=False, zero_shift=True)
    x = inputs((14, 14, 2), seed=17)
    before = get_explainer("lrp", model, composite="zero").explain(x, targets=[0, 1, 2, 0]).maps
    dense = model.get_layer("dense1")
    dense.kernel.assign(np.random.default_rng(5).normal(0, 0.3, dense.kernel.shape).astype(np.float32))
    after = get_explainer("lrp", model, composite="zero").explain(x, targets=[0, 1, 2, 0])
    grads, _ = _model.gradients(model, x, after.targets)
    assert relative_error(after.maps, (grads * x).sum(axis=-1)) < 1e-5   # the new weights' LRP-0
    assert not np.allclose(after.maps, before)
