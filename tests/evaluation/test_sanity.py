"""Sanity checks, robustness and the two floors on small Keras models.

Saliency of a dense network is its input gradient: once the weights are drawn again it is
an independent random vector, so its rank correlation with the trained map is near 0. The
``energy`` floor is the input itself: randomising the model changes nothing, so it must fail.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from xaispec.errors import ParameterError
from xaispec.evaluation import (Forward, cascading_randomisation, deletion, max_sensitivity, random_logit,
                                recompute_with)
from xaispec.explain import get_explainer

keras = pytest.importorskip("keras")
L = keras.layers


@pytest.fixture(scope="module")
def net():
    """(8, 8, 1) -> Flatten -> Dense(16, relu) -> BatchNorm -> Dense(4, softmax), weights drawn from seed 7."""
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8, 8, 1)), L.Flatten(), L.Dense(16, activation="relu"),
                              L.BatchNormalization(), L.Dense(4, activation="softmax")])
    bn = model.layers[2]
    bn.set_weights([np.full(16, 1.5), np.full(16, 0.2), np.full(16, 0.1), np.full(16, 2.0)])
    return model


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(3).uniform(-1, 1, size=(4, 8, 8)).astype(np.float32)


def test_randomisation_decorrelates_gradients_and_not_the_energy_floor(net, x):
    before = [w.copy() for w in net.get_weights()]
    targets = Forward(net)(x).argmax(axis=1)
    saliency = recompute_with("saliency")
    maps = saliency(net, x, targets)
    result = cascading_randomisation(net, x, maps, targets, saliency, seed=0)
    rho = result["mprt_spearman"]
    assert rho.curves.shape == (4, 3) and rho.params["layers"] == [net.layers[i].name for i in (3, 2, 1)]  # output first
    assert np.all(np.abs(rho.values) < 0.5), rho.values  # 64 cells: |rho| of independent maps ~ 0.13
    assert result["mprt_spearman_abs"].values.shape == (4,) and np.all(result["mprt_ssim"].values < 0.5)
    assert rho.forward >= 3 * 4  # one re-explanation of every sample per randomised layer
    # the pictures: the first sample's trained map, then its map after each step
    assert rho.examples.shape == (4, 8, 8) and np.allclose(rho.examples[0], maps[0])
    assert not np.allclose(rho.examples[1], rho.examples[0])
    # the trained model is untouched
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
    energy = recompute_with("energy")
    floor = cascading_randomisation(net, x, energy(net, x, targets), targets, energy, layers=2)
    np.testing.assert_allclose(floor["mprt_spearman"].values, 1.0)  # explains the input, not the model
    assert floor["mprt_spearman"].curves.shape == (4, 2)
    # the same seed draws the same randomised network
    again = cascading_randomisation(net, x, maps, targets, saliency, seed=0)
    np.testing.assert_array_equal(again["mprt_spearman"].curves, rho.curves)


def test_batchnorm_is_reset_to_identity(net):
    from xaispec.evaluation.sanity import reinitialise

    copy = keras.models.clone_model(net)
    copy.set_weights(net.get_weights())
    reinitialise(copy.layers[2], seed=0)
    gamma, beta, mean, var = copy.layers[2].get_weights()
    assert np.all(gamma == 1) and np.all(beta == 0) and np.all(mean == 0) and np.all(var == 1)
    with pytest.raises(ParameterError, match="layers=9"):
        cascading_randomisation(net, np.zeros((1, 8, 8)), np.ones((1, 8, 8)), [0], recompute_with("saliency"),
                                layers=9)


def test_random_logit_tells_classes_apart_for_gradients_only():
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((8, 8, 1)), L.Flatten(), L.Dense(3, activation="softmax")])
    x = np.random.default_rng(1).normal(size=(5, 8, 8)).astype(np.float32)
    t = np.zeros(5, dtype=np.int64)
    saliency = recompute_with("saliency")
    grads = random_logit(model, x, saliency(model, x, t), t, saliency, n_classes=3, seed=1)
    assert all(c != 0 for c in grads["random_logit_ssim"].params["classes"])
    # a linear model's logit gradient is the class's weight column: another class, another map
    w = model.layers[-1].get_weights()[0]
    for i, c in enumerate(grads["random_logit_ssim"].params["classes"]):
        expect = np.corrcoef(np.argsort(np.argsort(w[:, 0])), np.argsort(np.argsort(w[:, c])))[0, 1]
        assert grads["random_logit_spearman"].values[i] == pytest.approx(expect, abs=1e-6)
    energy = recompute_with("energy")
    same = random_logit(model, x, energy(model, x, t), t, energy, n_classes=3)
    np.testing.assert_allclose(same["random_logit_ssim"].values, 1.0)


def test_max_sensitivity_is_zero_for_a_constant_gradient_and_not_for_the_input():
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((8, 8, 1)), L.Flatten(), L.Dense(3, activation="softmax")])
    x = np.random.default_rng(2).normal(size=(3, 8, 8)).astype(np.float32)
    t = np.array([0, 1, 2])
    saliency, energy = recompute_with("saliency"), recompute_with("energy")
    flat = max_sensitivity(model, x, saliency(model, x, t), t, saliency, radius=0.1, draws=3)
    np.testing.assert_allclose(flat.values, 0.0, atol=1e-5)
    moved = max_sensitivity(model, x, energy(model, x, t), t, energy, radius=0.1, draws=3)
    assert np.all(moved.values > 0.01) and moved.forward == 0  # energy runs no model
    assert flat.forward == 3 * 3


def test_the_floors_random_noise_and_the_input_energy():
    model = keras.Sequential([keras.Input((6, 5, 1)), L.Flatten(), L.Dense(2, activation="softmax")])
    x = np.random.default_rng(0).uniform(-2, 1, size=(3, 6, 5, 1)).astype(np.float32)
    e = get_explainer("energy", model).explain(x, targets=[0, 1, 0])
    np.testing.assert_allclose(e.maps, x[..., 0] - x.reshape(3, -1).min(axis=1)[:, None, None], atol=1e-6)
    assert e.maps.min() == 0 and np.all(e.targets == [0, 1, 0])
    # a waveform's energy: its amplitude, silence (0) lowest, whatever the sign of a sample
    wave = keras.Sequential([keras.Input((8, 1)), L.Flatten(), L.Dense(2, activation="softmax")])
    y = np.array([[0.0, 0.5, -1.0, 0.0, 0.25, -0.25, 0.0, 2.0]], dtype=np.float32)[..., None]
    amp = get_explainer("energy", wave, of="amplitude").explain(y, targets=0).maps
    np.testing.assert_array_equal(amp, [[0.0, 0.5, 1.0, 0.0, 0.25, 0.25, 0.0, 2.0]])
    with pytest.raises(ParameterError, match="energy: of='power' is not 'level'"):
        get_explainer("energy", wave, of="power").explain(y, targets=0)
    r1 = get_explainer("random", model, seed=5).explain(x, targets=0)
    r2 = get_explainer("random", model, seed=5).explain(x, targets=0)
    np.testing.assert_array_equal(r1.maps, r2.maps)
    assert r1.maps.shape == (3, 6, 5) and 0 <= r1.maps.min() and r1.maps.max() < 1
    assert not np.array_equal(r1.maps, get_explainer("random", model, seed=6).explain(x, targets=0).maps)


def test_metrics_query_a_keras_one_channel_model_in_batches(net, x):
    from xaispec.explain import work

    forward = Forward(net, batch_size=8)
    p = forward(x)
    np.testing.assert_allclose(p, net.predict_on_batch(x[..., None]), atol=1e-6)
    t = p.argmax(axis=1)
    maps = get_explainer("saliency", net).explain(x, t).maps
    start = work()["forward"]
    score = deletion(forward, x, maps, t, baseline="min", steps=4)
    assert score.forward == 4 * 5 and forward.rows == 4 + 20 and work()["forward"] - start == 20
    np.testing.assert_allclose(score.curves[:, 0], p[np.arange(4), t], atol=1e-6)
    # all cells removed: every input is its own minimum everywhere
    flat = np.stack([np.full((8, 8), xi.min()) for xi in x])
    np.testing.assert_allclose(score.curves[:, -1], net.predict_on_batch(flat[..., None])[np.arange(4), t], atol=1e-6)
