"""Explanation methods on toy Keras models whose right answers are known."""
from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from xaispec.errors import ParameterError
from xaispec.explain import METHODS, Explanation, get_explainer, masking

keras = pytest.importorskip("keras")
L = keras.layers

IMAGE_METHODS = ["saliency", "smoothgrad", "integrated_gradients", "gradcam", "gradcam++", "occlusion", "lrp"]


# -- toy models --------------------------------------------------------------------------------
def linear_model(weights: np.ndarray, bias: np.ndarray, activation="softmax", shape=(8, 8, 1)):
    """Input -> Flatten -> Dense with the given kernel (cells, classes) and bias."""
    model = keras.Sequential([keras.Input(shape), L.Flatten(), L.Dense(weights.shape[1], activation=activation)])
    model.layers[-1].set_weights([weights.astype(np.float32), bias.astype(np.float32)])
    return model


@pytest.fixture(scope="module")
def lin():
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(64, 2)), rng.normal(size=2)
    return linear_model(w, b), w, b


@pytest.fixture(scope="module")
def conv2d():
    """A tiny CNN on non-square (12, 10, 1) inputs, softmax over 3 classes."""
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((12, 10, 1)), L.Conv2D(4, 3, activation="relu"),
                             L.Conv2D(4, 3, activation="relu", name="last_conv"), L.Flatten(),
                             L.Dense(3, activation="softmax")])


@pytest.fixture(scope="module")
def conv1d():
    """A tiny 1D CNN on (32, 1) feature vectors (like the emotion model on 128 mel features)."""
    keras.utils.set_random_seed(2)
    return keras.Sequential([keras.Input((32, 1)), L.Conv1D(4, 5, padding="same", activation="relu"),
                             L.MaxPooling1D(2), L.Flatten(), L.Dense(8, activation="relu"),
                             L.Dense(4, activation="softmax")])


@pytest.fixture(scope="module")
def x2d():
    return np.random.default_rng(3).uniform(-0.3, 0.0, size=(3, 12, 10, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def x1d():
    return np.random.default_rng(4).normal(size=(3, 32, 1)).astype(np.float32)


# -- registry and result type ------------------------------------------------------------------
def test_registry_lists_every_method():
    assert {"gradcam", "gradcam++", "lime", "shap_gradient", "shap_partition", "shap_permutation", "shap_kernel",
            "shap_deep", "integrated_gradients", "smoothgrad", "occlusion", "saliency", "random", "energy", "lrp"} == set(METHODS)


def test_unknown_method_names_the_valid_ones(lin):
    with pytest.raises(ParameterError) as err:
        get_explainer("gradcamm", lin[0])
    for name in METHODS:
        assert name in str(err.value)


def test_unknown_or_bad_parameter_is_a_parameter_error(lin, conv2d):
    with pytest.raises(ParameterError, match="steps"):
        get_explainer("integrated_gradients", lin[0], step=3)
    with pytest.raises(ParameterError, match="output"):
        get_explainer("saliency", lin[0], output="softmax")
    with pytest.raises(ParameterError, match="no convolution layer"):
        get_explainer("gradcam", lin[0])
    with pytest.raises(ParameterError, match="do not fit the model input"):
        get_explainer("saliency", conv2d).explain(np.zeros((2, 10, 12, 1)))


def test_import_does_not_load_tensorflow():
    code = "import sys, xaispec, xaispec.explain, xaispec.figures.spectrograms, xaispec.audio.resynthesis; " \
           "print(any(m in sys.modules for m in ('tensorflow', 'keras', 'shap', 'lime')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_explanation_save_load_and_summary(tmp_path, conv2d, x2d):
    exp = get_explainer("gradcam", conv2d).explain(x2d, targets=[0, 1, 2])
    path = exp.save(tmp_path / "sub" / "exp.npz")
    assert sorted(p.name for p in path.parent.iterdir()) == ["exp.npz"]  # no temporary left over
    back = Explanation.load(path)
    np.testing.assert_array_equal(back.maps, exp.maps)
    np.testing.assert_array_equal(back.extra["raw_max"], exp.extra["raw_max"])
    assert back.method == "gradcam" and back.targets.tolist() == [0, 1, 2]
    assert back.params["layer"] == "last_conv" and back.runtime == pytest.approx(exp.runtime)
    summary = json.loads(exp.to_json())
    assert summary["method"] == "gradcam" and summary["targets"] == [0, 1, 2] and summary["shape"] == [3, 12, 10]
    assert summary["runtime"] > 0


# -- masking -----------------------------------------------------------------------------------
def test_grid_segments_and_apply_mask():
    seg = masking.grid_segments((12, 10), n_freq_bands=3, n_time_bands=2)
    assert seg.shape == (12, 10) and sorted(np.unique(seg)) == list(range(6))
    assert (seg[:4, :5] == 0).all() and (seg[-4:, -5:] == 5).all()
    x = np.arange(120, dtype=np.float32).reshape(12, 10, 1)
    keep = np.zeros((2, 6), dtype=bool)
    keep[0] = True
    keep[1, 5] = True
    out = masking.apply_mask(x, seg, keep, baseline="min")
    assert out.shape == (2, 12, 10, 1)
    np.testing.assert_array_equal(out[0], x)
    assert (out[1][seg != 5] == 0).all() and (out[1][seg == 5] == x[seg == 5]).all()
    assert (masking.apply_mask(x, seg, np.zeros(6, bool), baseline=-1.5) == -1.5).all()
    np.testing.assert_array_equal(masking.grid_segments((7,), 3), [0, 0, 1, 1, 1, 2, 2])


def test_patches_cover_every_cell():
    slices = masking.patch_slices((12, 10), patch=(4, 3), stride=(3, 3))
    cover = np.zeros((12, 10), int)
    for index in slices:
        cover[index] += 1
    assert cover.min() >= 1 and all(cover[s].size == 12 for s in slices)
    with pytest.raises(ParameterError):
        masking.patch_slices((12, 10), patch=0)


# -- gradients on a linear model ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["saliency", "smoothgrad"])
def test_gradients_recover_linear_weights(lin, name):
    model, w, _ = lin
    x = np.random.default_rng(5).normal(size=(4, 8, 8, 1)).astype(np.float32)
    exp = get_explainer(name, model, **({"n_samples": 4} if name == "smoothgrad" else {})).explain(x, [0, 1, 1, 0])
    assert exp.maps.shape == (4, 8, 8) and exp.maps.dtype == np.float32
    for m, t in zip(exp.maps, exp.targets):
        np.testing.assert_allclose(m, w[:, t].reshape(8, 8), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("output", ["logits", "probs"])
def test_integrated_gradients_complete(lin, output):
    model, w, b = lin
    x = np.random.default_rng(6).normal(size=(3, 8, 8, 1)).astype(np.float32)
    exp = get_explainer("integrated_gradients", model, output=output, baseline="min").explain(x)
    base = np.full_like(x, 0) + x.min(axis=(1, 2, 3), keepdims=True)
    logits = lambda z: z.reshape(len(z), -1) @ w + b  # noqa: E731
    f = logits if output == "logits" else lambda z: np.exp(logits(z)) / np.exp(logits(z)).sum(1, keepdims=True)
    rows = np.arange(3)
    expected = f(x)[rows, exp.targets] - f(base)[rows, exp.targets]
    np.testing.assert_allclose(exp.maps.sum(axis=(1, 2)), expected, rtol=1e-2, atol=1e-6)
    assert np.abs(exp.extra["delta"]).max() <= 1e-2 * np.abs(expected).max()


def test_integrated_gradients_complete_on_a_cnn(conv2d, x2d):
    exp = get_explainer("integrated_gradients", conv2d, output="probs", steps=64).explain(x2d)
    diff = exp.extra["score"] - exp.extra["baseline_score"]
    np.testing.assert_allclose(exp.maps.sum(axis=(1, 2)), diff, rtol=1e-2, atol=1e-4)


def test_logits_are_taken_beside_the_model_and_follow_its_weights(lin):
    from xaispec.explain import _model

    model, w, b = lin
    x = np.random.default_rng(7).normal(size=(2, 8, 8, 1)).astype(np.float32)
    logits = _model.logit_model(model)
    np.testing.assert_allclose(logits.predict_on_batch(x), x.reshape(2, -1) @ w + b, rtol=1e-4, atol=1e-4)
    assert model.layers[-1].activation.__name__ == "softmax"  # the trained model keeps its softmax
    # a separate Activation("softmax") layer is skipped the same way
    seq = keras.Sequential([keras.Input((8, 8, 1)), L.Flatten(), L.Dense(2), L.Activation("softmax")])
    seq.layers[1].set_weights([w.astype(np.float32), b.astype(np.float32)])
    np.testing.assert_allclose(_model.logit_model(seq).predict_on_batch(x), x.reshape(2, -1) @ w + b, rtol=1e-4,
                               atol=1e-4)
    # the derived model shares the variables: new weights show up without rebuilding it
    other = linear_model(w, b)
    get_explainer("saliency", other).explain(x, targets=0)
    other.layers[-1].set_weights([2 * w.astype(np.float32), b.astype(np.float32)])
    np.testing.assert_allclose(get_explainer("saliency", other).explain(x, targets=0).maps[0],
                               2 * w[:, 0].reshape(8, 8), rtol=1e-4)


@pytest.mark.parametrize("name", ["saliency", "smoothgrad", "integrated_gradients"])
def test_gradient_methods_on_1d_features(conv1d, x1d, name):
    exp = get_explainer(name, conv1d).explain(x1d)
    assert exp.maps.shape == (3, 32) and np.isfinite(exp.maps).all()


# -- occlusion ---------------------------------------------------------------------------------
def test_occlusion_finds_the_only_patch_the_model_sees():
    w = np.zeros((8, 8, 2))
    w[2:4, 4:6, 0] = 2.0  # class 0 looks only at rows 2-3, columns 4-5
    model = linear_model(w.reshape(64, 2), np.zeros(2))
    x = np.ones((2, 8, 8, 1), np.float32)
    exp = get_explainer("occlusion", model, patch=2, stride=1, baseline="zero").explain(x, targets=0)
    for m in exp.maps:
        r, c = np.unravel_index(np.argmax(m), m.shape)
        assert 2 <= r < 4 and 4 <= c < 6
        assert m[0:1, :].max() == pytest.approx(0.0, abs=1e-6)  # far rows: no drop


def test_occlusion_on_1d_features(conv1d, x1d):
    exp = get_explainer("occlusion", conv1d, patch=4).explain(x1d)
    assert exp.maps.shape == (3, 32) and np.isfinite(exp.maps).all()


# -- Grad-CAM / Grad-CAM++ ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gradcam", "gradcam++"])
def test_gradcam_shape_range_and_model_untouched(conv2d, x2d, name):
    before = conv2d.predict_on_batch(x2d)
    activation = conv2d.layers[-1].activation
    explainer = get_explainer(name, conv2d)
    assert explainer.params["layer"] == "last_conv"
    exp = explainer.explain(x2d)
    assert exp.maps.shape == (3, 12, 10)
    assert exp.maps.min() >= 0 and exp.maps.max() <= 1 and np.isfinite(exp.maps).all()
    assert np.allclose(exp.maps.max(axis=(1, 2)), 1.0) or (exp.extra["raw_max"] == 0).any()
    np.testing.assert_array_equal(conv2d.predict_on_batch(x2d), before)
    assert conv2d.layers[-1].activation is activation
    # one sample at a time gives the batch's maps, with the compiled function reused
    from xaispec.explain.gradcam import cam_function

    fn = cam_function(conv2d, "last_conv", "logits", name == "gradcam++")
    single = np.concatenate([explainer.explain(x2d[i:i + 1], exp.targets[i:i + 1]).maps for i in range(3)])
    np.testing.assert_allclose(single, exp.maps, atol=1e-5)
    assert cam_function(conv2d, "last_conv", "logits", name == "gradcam++") is fn


@pytest.mark.parametrize("name", ["gradcam", "gradcam++"])
def test_gradcam_zero_gradient_gives_zeros_not_nan(conv2d, x2d, name):
    dead = keras.models.clone_model(conv2d)
    weights = conv2d.get_weights()
    weights[-2] = np.zeros_like(weights[-2])  # last Dense kernel: the score ignores the features
    dead.set_weights(weights)
    exp = get_explainer(name, dead).explain(x2d)
    assert np.isfinite(exp.maps).all() and (exp.maps == 0).all()


def test_gradcam_on_1d_conv(conv1d, x1d):
    exp = get_explainer("gradcam", conv1d).explain(x1d)
    assert exp.maps.shape == (3, 32) and 0 <= exp.maps.min() and exp.maps.max() <= 1


@pytest.mark.parametrize("name", IMAGE_METHODS)
def test_image_methods_accept_inputs_without_channel(conv2d, x2d, name):
    kwargs = {"patch": 4} if name == "occlusion" else {}
    exp = get_explainer(name, conv2d, **kwargs).explain(x2d[..., 0], targets=[2, 1, 0])
    assert exp.maps.shape == (3, 12, 10) and exp.targets.tolist() == [2, 1, 0]


# -- LIME --------------------------------------------------------------------------------------
@pytest.mark.parametrize("segmentation", ["grid", "quickshift"])
def test_lime_shapes_seed_and_batched_predictions(conv2d, x2d, segmentation, monkeypatch):
    sizes = []
    predict = conv2d.predict_on_batch

    def counting(batch):
        sizes.append(len(batch))
        return predict(batch)

    monkeypatch.setattr(conv2d, "predict_on_batch", counting)
    params = {"segmentation": segmentation, "num_samples": 40, "n_freq_bands": 3, "n_time_bands": 2,
              "num_features": 3, "seed": 7}
    exp = get_explainer("lime", conv2d, **params).explain(x2d[:2])
    assert exp.maps.shape == (2, 12, 10)
    assert exp.extra["segments"].shape == (2, 12, 10) and set(np.unique(exp.extra["mask"])) <= {-1, 0, 1}
    for m, seg in zip(exp.maps, exp.extra["segments"]):
        for s in np.unique(seg):  # one weight per segment, painted on its cells
            assert np.unique(m[seg == s]).size == 1
    if segmentation == "grid":
        np.testing.assert_array_equal(exp.extra["segments"][0], masking.grid_segments((12, 10), 3, 2))
    assert max(sizes) > 1 and len(sizes) < 2 * 40  # whole batches, not one image per call
    again = get_explainer("lime", conv2d, **params).explain(x2d[:2])
    np.testing.assert_array_equal(again.maps, exp.maps)


# -- SHAP --------------------------------------------------------------------------------------
def test_shap_gradient_image_and_1d(conv2d, x2d, conv1d, x1d):
    img = get_explainer("shap_gradient", conv2d, nsamples=16, background=x2d).explain(x2d[:2])
    assert img.maps.shape == (2, 12, 10) and np.isfinite(img.maps).all()
    again = get_explainer("shap_gradient", conv2d, nsamples=16, background=x2d).explain(x2d[:2])
    np.testing.assert_array_equal(again.maps, img.maps)
    tab = get_explainer("shap_gradient", conv1d, nsamples=16, background=x1d).explain(x1d)
    assert tab.maps.shape == (3, 32) and tab.extra["values"].shape == (3, 32, 4)
    np.testing.assert_array_equal(tab.maps, tab.extra["values"][np.arange(3), :, tab.targets])


def test_shap_partition_on_spectrogram_images(conv2d, x2d):
    exp = get_explainer("shap_partition", conv2d, max_evals=40).explain(x2d[:2])
    assert exp.maps.shape == (2, 12, 10) and np.isfinite(exp.maps).all() and np.abs(exp.maps).sum() > 0
    with pytest.raises(ParameterError, match="mask"):
        get_explainer("shap_partition", conv2d, mask="gaussian")


def test_shap_permutation_values_add_up(conv1d, x1d):
    params = {"background": x1d, "max_evals": 2 * 32 + 1 + 10, "seed": 3}
    exp = get_explainer("shap_permutation", conv1d, **params).explain(x1d[:2])
    values = exp.extra["values"]
    assert exp.maps.shape == (2, 32) and values.shape == (2, 32, 4)
    np.testing.assert_array_equal(exp.maps, values[np.arange(2), :, exp.targets])
    probs = conv1d.predict_on_batch(x1d[:2])
    np.testing.assert_allclose(values.sum(axis=1) + exp.extra["base_values"], probs, atol=1e-4)
    np.testing.assert_array_equal(get_explainer("shap_permutation", conv1d, **params).explain(x1d[:2]).maps, exp.maps)
    with pytest.raises(ParameterError, match="max_evals"):
        get_explainer("shap_permutation", conv1d, max_evals=10)


def test_shap_kernel_and_deep_on_1d(conv1d, x1d):
    kernel = get_explainer("shap_kernel", conv1d, background=x1d, k=2, nsamples=40, seed=1)
    exp = kernel.explain(x1d[:2])
    assert exp.maps.shape == (2, 32) and exp.extra["values"].shape == (2, 32, 4)
    np.testing.assert_array_equal(get_explainer("shap_kernel", conv1d, background=x1d, k=2, nsamples=40,
                                                seed=1).explain(x1d[:2]).maps, exp.maps)
    deep = get_explainer("shap_deep", conv1d, background=x1d).explain(x1d[:2])
    assert deep.extra["values"].shape == (2, 32, 4)
    probs = conv1d.predict_on_batch(x1d[:2])
    np.testing.assert_allclose(deep.extra["values"].sum(axis=1) + deep.extra["expected_value"], probs, atol=1e-3)
