"""Self-tests of the numpy LRP reference (tests/explain/lrp_reference.py): numpy only, float64, seeded."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lrp_reference as ref  # noqa: E402

ALL_RULE_TYPES = ("conv", "dense", "batchnorm", "avgpool", "globalavgpool")


# -- random networks ---------------------------------------------------------------------------
def _dense(rng, name, n_in, n_out, activation, zero_bias):
    return {"type": "dense", "name": name, "kernel": rng.normal(size=(n_in, n_out)) * np.sqrt(2 / n_in),
            "bias": np.zeros(n_out) if zero_bias else 0.3 * rng.normal(size=n_out), "activation": activation}


def _conv(rng, name, kernel, cin, cout, strides, padding, activation, zero_bias):
    fan_in = np.prod(kernel) * cin
    return {"type": "conv", "name": name, "kernel": rng.normal(size=tuple(kernel) + (cin, cout)) * np.sqrt(2 / fan_in),
            "bias": np.zeros(cout) if zero_bias else 0.3 * rng.normal(size=cout), "strides": tuple(strides),
            "padding": padding, "activation": activation}


def net2d(seed=0, *, pooling="avgpool", zero_bias=False, bn_shift_zero=False, first_activation="relu"):
    """(n, 17, 15, 3) -> conv valid stride 2 -> batchnorm -> maxpool (overlapping) -> conv same ->
    avgpool + flatten or globalavgpool -> dense relu -> dropout -> dense softmax (4 classes)."""
    rng = np.random.default_rng(seed)
    c = 8
    bn = {"type": "batchnorm", "name": "bn", "gamma": rng.uniform(0.5, 1.5, c) * rng.choice([-1, 1], c),
          "beta": np.zeros(c) if bn_shift_zero else 0.2 * rng.normal(size=c),
          "mean": np.zeros(c) if bn_shift_zero else 0.2 * rng.normal(size=c),
          "var": rng.uniform(0.5, 2.0, c), "epsilon": 1e-3}
    layers = [_conv(rng, "conv1", (3, 3), 3, c, (2, 2), "valid", first_activation, zero_bias),  # -> (8, 7, 8)
              bn,
              {"type": "maxpool", "name": "pool1", "pool": (2, 2), "strides": (1, 1), "padding": "valid"},  # (7, 6)
              _conv(rng, "conv2", (3, 3), c, 8, (1, 1), "same", "relu", zero_bias)]  # -> (7, 6, 8)
    if pooling == "avgpool":
        layers += [{"type": "avgpool", "name": "pool2", "pool": (2, 2), "strides": (2, 2), "padding": "valid"},
                   {"type": "flatten", "name": "flat"}]  # -> (3, 3, 8) -> 72
        n_flat = 72
    else:
        layers += [{"type": "globalavgpool", "name": "pool2"}]
        n_flat = 8
    layers += [_dense(rng, "fc1", n_flat, 16, "relu", zero_bias), {"type": "dropout", "name": "drop"},
               _dense(rng, "fc2", 16, 4, "softmax", zero_bias)]
    return layers


def net1d(seed=1, *, zero_bias=False, activation="relu"):
    """(n, 20, 2) -> conv1d same -> maxpool 'same' (pool 3, stride 2) -> relu -> flatten -> dense -> dense."""
    rng = np.random.default_rng(seed)
    return [_conv(rng, "conv", (5,), 2, 6, (1,), "same", activation, zero_bias),  # -> (20, 6)
            {"type": "maxpool", "name": "pool", "pool": (3,), "strides": (2,), "padding": "same"},  # -> (10, 6)
            {"type": "relu", "name": "act"},
            {"type": "flatten", "name": "flat"},
            _dense(rng, "fc1", 60, 16, "relu", zero_bias),
            _dense(rng, "fc2", 16, 3, "softmax", zero_bias)]


def x2d(seed=10, n=2, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=(n, 17, 15, 3))


def x1d(seed=11, n=2):
    return np.random.default_rng(seed).normal(size=(n, 20, 2))


def rules_all(layers, rule, params=None, other=("zero", {})):
    """``rule`` for every conv and dense layer, ``other`` for batchnorm and the average poolings."""
    out = {}
    for layer in layers:
        if layer["type"] in ("conv", "dense"):
            out[layer["name"]] = (rule, dict(params or {}))
        elif layer["type"] in ALL_RULE_TYPES:
            out[layer["name"]] = other
    return out


def picked(layers, x, targets):
    return ref.logits(layers, x)[np.arange(len(x)), targets]


def layer_sums(per_layer):
    return np.stack([r.reshape(r.shape[0], -1).sum(axis=1) for r in per_layer])  # (layers, n)


CASES = [("2d-avgpool", lambda **kw: net2d(pooling="avgpool", **kw), x2d),
         ("2d-global", lambda **kw: net2d(pooling="global", **kw), x2d),
         ("1d", lambda **kw: net1d(**{k: v for k, v in kw.items() if k != "bn_shift_zero"}), x1d)]


# -- geometry and convolution -----------------------------------------------------------------
def naive_conv(a, kernel, strides, padding):
    """Convolution by explicit receptive-field indices (independent of the reference's slicing)."""
    d = kernel.ndim - 2
    out, pads = ref.conv_geometry(a.shape[1:-1], kernel.shape[:d], strides, padding)
    z = np.zeros((a.shape[0],) + out + (kernel.shape[-1],))
    for o in np.ndindex(*out):
        for off in np.ndindex(*kernel.shape[:d]):
            pos = tuple(oi * s + k - p[0] for oi, s, k, p in zip(o, strides, off, pads))
            if all(0 <= q < n for q, n in zip(pos, a.shape[1:-1])):
                z[(slice(None),) + o] += a[(slice(None),) + pos] @ kernel[off]
    return z


def test_same_padding_geometry_follows_keras():
    assert ref.conv_geometry((5,), (3,), (2,), "same") == ((3,), ((1, 1),))
    assert ref.conv_geometry((6,), (3,), (2,), "same") == ((3,), ((0, 1),))
    assert ref.conv_geometry((7, 4), (4, 1), (1, 3), "same") == ((7, 2), ((1, 2), (0, 0)))
    assert ref.conv_geometry((17, 15), (3, 3), (2, 2), "valid") == ((8, 7), ((0, 0), (0, 0)))


@pytest.mark.parametrize("shape,kernel,strides,padding", [
    ((2, 7, 6, 3), (3, 2), (2, 1), "same"), ((2, 6, 5, 2), (3, 3), (2, 2), "valid"),
    ((2, 8, 8, 1), (2, 2), (2, 2), "same"), ((2, 9, 2), (4,), (3,), "same"), ((3, 10, 3), (3,), (2,), "valid")])
def test_conv_matches_naive_and_transpose_is_its_adjoint(shape, kernel, strides, padding):
    rng = np.random.default_rng(5)
    a, w = rng.normal(size=shape), rng.normal(size=kernel + (shape[-1], 4))
    z = ref.conv_forward(a, w, strides, padding)
    np.testing.assert_allclose(z, naive_conv(a, w, strides, padding), rtol=1e-12, atol=1e-12)
    s = rng.normal(size=z.shape)
    back = ref.conv_transpose(s, w, a.shape, strides, padding)
    assert back.shape == a.shape
    np.testing.assert_allclose(np.sum(z * s), np.sum(a * back), rtol=1e-12)


def test_maxpool_same_pads_with_minus_infinity():
    x = np.array([-3.0, -1.0, -2.0, -5.0, -4.0]).reshape(1, 5, 1)
    net = [{"type": "maxpool", "name": "p", "pool": (2,), "strides": (2,), "padding": "same"},
           {"type": "flatten", "name": "f"},
           {"type": "dense", "name": "d", "kernel": np.eye(3), "bias": np.zeros(3), "activation": "softmax"}]
    np.testing.assert_array_equal(ref.logits(net, x), [[-1.0, -2.0, -4.0]])


def test_maxpool_ties_route_to_the_first_maximum_and_overlaps_accumulate():
    x = np.array([[2.0, 5.0, 1.0], [5.0, 0.0, 5.0], [3.0, 5.0, 4.0]]).reshape(1, 3, 3, 1)
    net = [{"type": "maxpool", "name": "p", "pool": (2, 2), "strides": (1, 1), "padding": "valid"},
           {"type": "flatten", "name": "f"},
           {"type": "dense", "name": "d", "kernel": np.ones((4, 1)), "bias": np.zeros(1), "activation": "softmax"}]
    grad = ref.gradient(net, x, 0)[0, :, :, 0]
    # windows: TL -> (0,1) [tie with (1,0)], TR -> (0,1) [tie with (1,2)], BL -> (1,0) [tie with (2,1)],
    # BR -> (1,2) [tie with (2,1)]
    np.testing.assert_array_equal(grad, [[0, 2, 0], [1, 0, 1], [0, 0, 0]])
    rel = ref.lrp(net, x, 0, {"d": ("zero", {})})[0, :, :, 0]
    np.testing.assert_allclose(rel, 5.0 * grad, rtol=1e-12)


# -- gradient ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,make,data", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_central_finite_differences(name, make, data):
    layers = make(first_activation="linear") if name != "1d" else make(activation="linear")
    x = data()
    targets = np.array([1, 2])
    rng = np.random.default_rng(7)
    grad = ref.gradient(layers, x, targets)
    assert grad.shape == x.shape and np.abs(grad).max() > 0
    h = 1e-6

    def score(xx):
        return picked(layers, xx, targets)

    for _ in range(4):  # directional derivatives along random directions
        v = rng.normal(size=x.shape)
        fd = (score(x + h * v) - score(x - h * v)) / (2 * h)
        np.testing.assert_allclose(fd, np.sum((grad * v).reshape(len(x), -1), axis=1), rtol=1e-5, atol=1e-8)
    flat = x.reshape(-1)
    for i in rng.choice(flat.size, size=40, replace=False):  # single coordinates
        e = np.zeros_like(flat)
        e[i] = h
        fd = (score(x + e.reshape(x.shape)) - score(x - e.reshape(x.shape))) / (2 * h)
        sample = i // (flat.size // len(x))
        assert fd[1 - sample] == pytest.approx(0.0, abs=1e-9)
        assert fd[sample] == pytest.approx(grad.reshape(-1)[i], rel=1e-5, abs=1e-8)


# -- LRP-0 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,make,data", CASES, ids=[c[0] for c in CASES])
def test_zero_rule_is_gradient_times_input_and_conserves(name, make, data):
    layers = make(zero_bias=True, bn_shift_zero=True)
    x = data()
    targets = np.array([0, 2])
    rel, per_layer = ref.lrp(layers, x, targets, rules_all(layers, "zero"), return_layers=True)
    gxi = ref.gradient(layers, x, targets) * x
    assert rel.shape == x.shape and rel.dtype == np.float64
    assert len(per_layer) == len(layers) and per_layer[0] is rel
    np.testing.assert_allclose(rel, gxi, rtol=1e-6, atol=1e-9 * np.abs(gxi).max())
    logit = picked(layers, x, targets)
    assert (np.abs(logit) > 1e-3).all()
    np.testing.assert_allclose(layer_sums(per_layer), np.broadcast_to(logit, (len(layers), len(x))), rtol=1e-6)


# -- epsilon -----------------------------------------------------------------------------------
def test_epsilon_conservation_error_grows_with_epsilon():
    layers = net2d(zero_bias=True, bn_shift_zero=True)
    x, targets = x2d(), np.array([0, 3])
    logit = picked(layers, x, targets)
    errors = {}
    for eps in (1e-9, 1e-6, 1e-3, 1e-1, 1.0, 10.0):
        rules = rules_all(layers, "epsilon", {"epsilon": eps}, other=("epsilon", {"epsilon": eps}))
        rel = ref.lrp(layers, x, targets, rules)
        errors[eps] = np.max(np.abs(rel.reshape(len(x), -1).sum(axis=1) - logit) / np.abs(logit))
        assert errors[eps] <= 1e-9 + 100 * eps, (eps, errors[eps])
    assert errors[1e-9] < 1e-6
    assert errors[10.0] > 0.3  # large epsilons absorb relevance
    assert errors[10.0] > errors[1e-3] > errors[1e-9]


def test_epsilon_on_one_dense_layer_has_closed_form():
    rng = np.random.default_rng(3)
    w, x, eps = rng.normal(size=(5, 3)), rng.normal(size=(2, 5)), 0.5
    b = rng.normal(size=3)
    net = [{"type": "dense", "name": "d", "kernel": w, "bias": b, "activation": "softmax"}]
    rel = ref.lrp(net, x, [2, 0], {"d": ("epsilon", {"epsilon": eps})})
    for n, t in enumerate([2, 0]):
        z = x[n] @ w + b
        expect = x[n] * w[:, t] * z[t] / (z[t] + eps * np.sign(z[t]))
        np.testing.assert_allclose(rel[n], expect, rtol=1e-12)


# -- alpha-beta --------------------------------------------------------------------------------
@pytest.mark.parametrize("name,make,data", CASES[:2], ids=[c[0] for c in CASES[:2]])
def test_alpha1_beta0_relevance_is_non_negative(name, make, data):
    layers = make(zero_bias=True, bn_shift_zero=True)
    x = data(low=0.0, high=1.0)
    lg = ref.logits(layers, x)
    targets = lg.argmax(axis=1)
    assert (lg[np.arange(len(x)), targets] > 0).all()
    rules = rules_all(layers, "alphabeta", {"alpha": 1.0, "beta": 0.0})
    rel, per_layer = ref.lrp(layers, x, targets, rules, return_layers=True)
    for r in per_layer:
        assert (r >= 0).all()
    assert (rel.reshape(len(x), -1).sum(axis=1) > 0).all()


def test_alpha1_beta0_can_be_negative_for_a_negative_logit():
    """The sign test above would pass trivially if relevance were clipped; a negative start stays negative."""
    layers = net2d(zero_bias=True, bn_shift_zero=True)
    x = x2d(low=0.0, high=1.0)
    lg = ref.logits(layers, x)
    targets = lg.argmin(axis=1)
    assert (lg[np.arange(len(x)), targets] < 0).all()
    rel = ref.lrp(layers, x, targets, rules_all(layers, "alphabeta", {"alpha": 1.0, "beta": 0.0}))
    assert (rel <= 0).all() and (rel < 0).any()


@pytest.mark.parametrize("name,make,data", CASES, ids=[c[0] for c in CASES])
def test_alpha2_beta1_conserves_with_zero_biases(name, make, data):
    layers = make(zero_bias=True, bn_shift_zero=True)
    x, targets = data(), np.array([1, 0])
    rules = rules_all(layers, "alphabeta", {"alpha": 2.0, "beta": 1.0})
    rel, per_layer = ref.lrp(layers, x, targets, rules, return_layers=True)
    logit = picked(layers, x, targets)
    np.testing.assert_allclose(layer_sums(per_layer), np.broadcast_to(logit, (len(layers), len(x))), rtol=1e-4)
    # and it is a different attribution from LRP-0
    assert not np.allclose(rel, ref.lrp(layers, x, targets, rules_all(layers, "zero")), rtol=1e-3)


# -- flat, w-square, box -----------------------------------------------------------------------
def test_flat_on_one_dense_layer_spreads_evenly():
    rng = np.random.default_rng(4)
    w, b, x = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=(2, 5))
    net = [{"type": "dense", "name": "d", "kernel": w, "bias": b, "activation": "softmax"}]
    rel = ref.lrp(net, x, [1, 2], {"d": ("flat", {})})
    logit = picked(net, x, np.array([1, 2]))
    # sum_k R_k / stabilize(D_k, 1e-6), D_k = 5 inputs; only the target's R_k is non-zero
    np.testing.assert_allclose(rel, np.repeat(logit[:, None] / (5 + 1e-6), 5, axis=1), rtol=1e-12)


def test_flat_on_a_same_conv_counts_only_real_cells():
    rng = np.random.default_rng(6)
    net = [_conv(rng, "c", (3, 3), 2, 1, (1, 1), "same", "softmax", False)]
    x = rng.normal(size=(1, 4, 5, 2))
    rel = ref.lrp(net, x, 0, {"c": ("flat", {})})  # target 0: output cell (0, 0), whose field has 2x2 real cells
    logit = ref.logits(net, x)[0, 0]
    expect = np.zeros_like(x)
    expect[0, :2, :2, :] = logit / (8 + 1e-6)  # 2x2 real cells times 2 channels, stabilised
    np.testing.assert_allclose(rel, expect, rtol=1e-12, atol=1e-15)


def test_wsquare_on_one_dense_layer():
    rng = np.random.default_rng(8)
    w, x = rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    net = [{"type": "dense", "name": "d", "kernel": w, "bias": np.ones(3), "activation": "softmax"}]
    rel = ref.lrp(net, x, [0, 1], {"d": ("wsquare", {})})
    logit = picked(net, x, np.array([0, 1]))
    for n, t in enumerate([0, 1]):
        np.testing.assert_allclose(rel[n], logit[n] * w[:, t] ** 2 / (np.sum(w[:, t] ** 2) + 1e-6), rtol=1e-12)


def test_box_on_a_three_input_dense_layer_by_hand():
    w = np.array([[1.0, -2.0], [-0.5, 0.25], [2.0, 1.0]])
    b = np.array([0.5, -1.0])
    a = np.array([[0.5, -1.0, 2.0]])
    low, high = np.array([-1.0, -2.0, 0.0]), np.array([1.0, 3.0, 2.5])
    net = [{"type": "dense", "name": "d", "kernel": w, "bias": b, "activation": "softmax"}]
    rel = ref.lrp(net, a, 0, {"d": ("box", {"low": low, "high": high})})
    # unit 0: w = (1, -0.5, 2); z = 0.5 + 0.5 + 4 + 0.5 = 5.5 (the logit, with bias)
    # D = W a - W+ l - W- h = 5.0 - (1*-1 + 2*0) - (-0.5*3) = 5.0 + 1 + 1.5 = 7.5
    # R_in_i = (a_i w_i - l_i w+_i - h_i w-_i) * R / D
    r = 5.5
    expect = np.array([0.5 * 1 - (-1) * 1, -1 * -0.5 - 3 * -0.5, 2 * 2 - 0]) * r / (7.5 + 1e-6)
    np.testing.assert_allclose(rel[0], expect, rtol=1e-12)
    assert rel.sum() == pytest.approx(r, rel=1e-6)  # box conserves even with a bias (D has none)


def test_box_conserves_on_a_conv_with_zero_bias():
    rng = np.random.default_rng(9)
    net = [_conv(rng, "c1", (3, 3), 3, 4, (2, 2), "same", "relu", True), {"type": "flatten", "name": "f"},
           _dense(rng, "d", 36, 3, "softmax", True)]
    x = rng.uniform(-1, 1, size=(2, 6, 5, 3))
    low = -np.ones((6, 5, 3))
    rules = {"c1": ("box", {"low": low, "high": 1.0}), "d": ("zero", {})}
    rel, per_layer = ref.lrp(net, x, [0, 2], rules, return_layers=True)
    sums = layer_sums(per_layer)
    np.testing.assert_allclose(sums[0], sums[-1], rtol=1e-6)
    assert not np.allclose(rel, ref.lrp(net, x, [0, 2], {"c1": ("zero", {}), "d": ("zero", {})}))


# -- gamma -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,make,data", CASES, ids=[c[0] for c in CASES])
def test_gamma_zero_is_the_epsilon_rule(name, make, data):
    """With gamma = 0, P = N = z, so the rule is the epsilon rule with the gamma stabiliser 1e-6, exactly
    (where no z is 0).  (Against LRP-0 itself the difference is O(1e-6 / |z|), large near small z.)"""
    layers = make()  # non-zero biases
    x, targets = data(), np.array([3 if name != "1d" else 2, 1])
    acts = ref.forward(layers, x)
    for layer, a in zip(layers, acts):
        if layer["type"] in ("conv", "dense"):
            z = (ref.conv_forward(a, layer["kernel"], layer["strides"], layer["padding"])
                 if layer["type"] == "conv" else a @ layer["kernel"]) + layer["bias"]
            assert np.abs(z).min() > 1e-9  # every pre-activation is non-zero
    gamma0 = ref.lrp(layers, x, targets, rules_all(layers, "gamma", {"gamma": 0.0}))
    eps = ref.lrp(layers, x, targets, rules_all(layers, "epsilon", {"epsilon": 1e-6}))
    scale = np.abs(eps).max()
    np.testing.assert_allclose(gamma0, eps, rtol=1e-9, atol=1e-12 * scale)
    g = ref.lrp(layers, x, targets, rules_all(layers, "gamma", {"gamma": 0.5}))
    assert not np.allclose(g, gamma0, rtol=1e-3)


def test_gamma_conserves_with_zero_biases():
    layers = net2d(zero_bias=True, bn_shift_zero=True)
    x, targets = x2d(), np.array([2, 1])
    _, per_layer = ref.lrp(layers, x, targets, rules_all(layers, "gamma", {"gamma": 0.25}), return_layers=True)
    logit = picked(layers, x, targets)
    np.testing.assert_allclose(layer_sums(per_layer), np.broadcast_to(logit, (len(layers), len(x))), rtol=1e-4)


# -- every linear rule against explicit per-weight sums ----------------------------------------
def stab(z, eps):
    return z + eps if z >= 0 else z - eps


def explicit_dense_rule(rule, p, w, b, a, r):
    """The rule written as sums over single weights z_ij = a_i w_ij (one sample, a: (I,), r: (J,))."""
    n_in, n_out = w.shape
    out = np.zeros(n_in)
    for j in range(n_out):
        z = sum(a[i] * w[i, j] for i in range(n_in)) + b[j]
        for i in range(n_in):
            ap, an = max(a[i], 0.0), min(a[i], 0.0)
            wp, wn = max(w[i, j], 0.0), min(w[i, j], 0.0)
            if rule == "epsilon":
                out[i] += a[i] * w[i, j] * r[j] / stab(z, p["epsilon"])
            elif rule == "gamma":
                g = p["gamma"]
                gp = [w[k, j] + g * max(w[k, j], 0) for k in range(n_in)]
                gn = [w[k, j] + g * min(w[k, j], 0) for k in range(n_in)]
                bp, bn = b[j] + g * max(b[j], 0), b[j] + g * min(b[j], 0)
                pos = sum(max(a[k], 0) * gp[k] + min(a[k], 0) * gn[k] for k in range(n_in)) + bp
                neg = sum(max(a[k], 0) * gn[k] + min(a[k], 0) * gp[k] for k in range(n_in)) + bn
                if z > 0:
                    out[i] += (ap * gp[i] + an * gn[i]) * r[j] / stab(pos, 1e-6)
                elif z < 0:
                    out[i] += (ap * gn[i] + an * gp[i]) * r[j] / stab(neg, 1e-6)
            elif rule == "alphabeta":
                pos = sum(max(a[k], 0) * max(w[k, j], 0) + min(a[k], 0) * min(w[k, j], 0) for k in range(n_in))
                neg = sum(max(a[k], 0) * min(w[k, j], 0) + min(a[k], 0) * max(w[k, j], 0) for k in range(n_in))
                pos, neg = pos + max(b[j], 0), neg + min(b[j], 0)
                out[i] += p["alpha"] * (ap * wp + an * wn) * r[j] / stab(pos, 1e-6)
                out[i] -= p["beta"] * (ap * wn + an * wp) * r[j] / stab(neg, 1e-6)
            elif rule == "box":
                lo, hi = p["low"], p["high"]
                d = sum(a[k] * w[k, j] - lo[k] * max(w[k, j], 0) - hi[k] * min(w[k, j], 0) for k in range(n_in))
                out[i] += (a[i] * w[i, j] - lo[i] * wp - hi[i] * wn) * r[j] / stab(d, 1e-6)
            elif rule == "flat":
                out[i] += r[j] / stab(float(n_in), 1e-6)
            elif rule == "wsquare":
                out[i] += w[i, j] ** 2 * r[j] / stab(sum(w[k, j] ** 2 for k in range(n_in)), 1e-6)
    return out


@pytest.mark.parametrize("rule,params", [
    ("epsilon", {"epsilon": 0.05}), ("gamma", {"gamma": 0.25}), ("gamma", {"gamma": 0.0}),
    ("alphabeta", {"alpha": 2.0, "beta": 1.0}), ("alphabeta", {"alpha": 1.0, "beta": 0.0}),
    ("box", {"low": np.array([-1.0, -2.0, -0.5, -1.5, -1.0]), "high": np.array([1.0, 0.5, 2.0, 1.0, 3.0])}),
    ("flat", {}), ("wsquare", {})], ids=lambda v: v if isinstance(v, str) else None)
def test_dense_rules_match_explicit_sums(rule, params):
    """A mid-network dense layer (biases of both signs, inputs of both signs) under each rule; the
    relevance reaching it comes from an LRP-0 output layer, so several of its outputs carry relevance."""
    rng = np.random.default_rng(12)
    w1, b1 = rng.normal(size=(5, 4)), np.array([0.7, -0.4, 0.2, -0.9])
    w2, b2 = rng.normal(size=(4, 3)), rng.normal(size=3)
    net = [{"type": "dense", "name": "h", "kernel": w1, "bias": b1, "activation": "linear"},
           {"type": "dense", "name": "o", "kernel": w2, "bias": b2, "activation": "softmax"}]
    x, targets = rng.normal(size=(3, 5)), np.array([0, 2, 1])
    rel = ref.lrp(net, x, targets, {"h": (rule, params), "o": ("zero", {})})
    for n, t in enumerate(targets):
        hidden = x[n] @ w1 + b1
        logit = hidden @ w2[:, t] + b2[t]
        r_hidden = hidden * w2[:, t] * logit / stab(logit, 1e-12)
        np.testing.assert_allclose(rel[n], explicit_dense_rule(rule, params, w1, b1, x[n], r_hidden),
                                   rtol=1e-10, atol=1e-13)


def test_batchnorm_epsilon_rule_with_a_shift():
    rng = np.random.default_rng(13)
    bn = {"type": "batchnorm", "name": "bn", "gamma": np.array([1.5, -0.5]), "beta": np.array([0.3, -0.2]),
          "mean": np.array([0.1, 0.4]), "var": np.array([2.0, 0.5]), "epsilon": 1e-3}
    w = rng.normal(size=(6, 2))
    net = [bn, {"type": "flatten", "name": "f"},
           {"type": "dense", "name": "o", "kernel": w, "bias": np.zeros(2), "activation": "softmax"}]
    x = rng.normal(size=(2, 3, 2))
    rel = ref.lrp(net, x, [1, 0], {"bn": ("epsilon", {"epsilon": 0.1}), "o": ("zero", {})})
    s = bn["gamma"] / np.sqrt(bn["var"] + 1e-3)
    t = bn["beta"] - bn["mean"] * s
    for n, k in enumerate([1, 0]):
        y = s * x[n] + t
        logit = y.reshape(-1) @ w[:, k]
        r_y = (y.reshape(-1) * w[:, k] * logit / stab(logit, 1e-12)).reshape(3, 2)
        np.testing.assert_allclose(rel[n], x[n] * s * r_y / (y + 0.1 * np.sign(y)), rtol=1e-10)


def test_relu_derivative_is_zero_at_zero():
    net = [{"type": "dense", "name": "h", "kernel": np.array([[1.0, 1.0], [1.0, -1.0]]), "bias": np.zeros(2),
            "activation": "relu"},
           {"type": "dense", "name": "o", "kernel": np.ones((2, 1)), "bias": np.zeros(1), "activation": "softmax"}]
    x = np.array([[1.0, -1.0]])  # unit 0 has pre-activation exactly 0, unit 1 has 2
    np.testing.assert_array_equal(ref.gradient(net, x, 0), [[1.0, -1.0]])


# -- inputs the reference refuses --------------------------------------------------------------
def test_missing_or_bad_rules_name_the_layer():
    layers = net2d()
    rules = rules_all(layers, "zero")
    del rules["conv2"]
    with pytest.raises(KeyError, match="conv2"):
        ref.lrp(layers, x2d(), 0, rules)
    rules = rules_all(layers, "zero")
    rules["bn"] = ("gamma", {"gamma": 0.1})
    with pytest.raises(ValueError, match="bn"):
        ref.lrp(layers, x2d(), 0, rules)
    rules = rules_all(layers, "zero")
    rules["fc1"] = ("epsilon", {})
    with pytest.raises(KeyError, match="fc1"):
        ref.lrp(layers, x2d(), 0, rules)
    rules = rules_all(layers, "zero")
    rules["fc2"] = ("epsilonn", {"epsilon": 0.1})
    with pytest.raises(ValueError, match="fc2"):
        ref.lrp(layers, x2d(), 0, rules)
