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


def test_smoothgrad_gives_a_sample_the_same_map_in_any_batch(conv2d, x2d):
    explainer = get_explainer("smoothgrad", conv2d, n_samples=6, seed=3)
    batch = explainer.explain(x2d, targets=[0, 1, 2])
    reordered = explainer.explain(x2d[[2, 0]], targets=[2, 0])
    alone = explainer.explain(x2d[1:2], targets=[1])
    np.testing.assert_allclose(reordered.maps, batch.maps[[2, 0]], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(alone.maps[0], batch.maps[1], rtol=1e-5, atol=1e-7)
    other = get_explainer("smoothgrad", conv2d, n_samples=6, seed=4).explain(x2d, targets=[0, 1, 2])
    assert not np.allclose(other.maps, batch.maps)   # the seed still decides the noise


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
    # each map peaks at 1, or is all zero when it had no positive evidence at all
    np.testing.assert_allclose(exp.maps.max(axis=(1, 2)), np.where(exp.extra["raw_max"] > 0, 1.0, 0.0), atol=1e-6)
    np.testing.assert_array_equal(conv2d.predict_on_batch(x2d), before)
    assert conv2d.layers[-1].activation is activation
    # one sample at a time gives the batch's maps, with the compiled function reused
    from xaispec.explain.gradcam import cam_function

    fn = cam_function(conv2d, "last_conv", "logits", name == "gradcam++")
    single = np.concatenate([explainer.explain(x2d[i:i + 1], exp.targets[i:i + 1]).maps for i in range(3)])
    np.testing.assert_allclose(single, exp.maps, atol=1e-5)
    assert cam_function(conv2d, "last_conv", "logits", name == "gradcam++") is fn


def keras_io_gradcam(model, img_array, last_conv_layer_name, pred_index):
    """The keras-io Grad-CAM recipe (keras.io/examples/vision/grad_cam), written out as published:
    a gradient model, the class channel's gradients pooled over the map, the weighted channel sum,
    ReLU and division by the maximum; one image at a time, on a copy whose last activation is None."""
    import tensorflow as tf

    grad_model = keras.models.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, model.output])
    with tf.GradientTape() as tape:
        last_conv_layer_output, preds = grad_model(img_array)
        class_channel = preds[:, pred_index]
    grads = tape.gradient(class_channel, last_conv_layer_output)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2))
    last_conv_layer_output = last_conv_layer_output[0]
    heatmap = last_conv_layer_output @ pooled_grads[..., tf.newaxis]
    heatmap = tf.squeeze(heatmap)
    heatmap = tf.maximum(heatmap, 0) / tf.math.reduce_max(heatmap)
    return heatmap.numpy()


def test_gradcam_equals_the_keras_io_recipe_on_a_trained_model(x2d):
    """Our batched maps are keras-io's heatmaps brought to the input's size (bilinear, as ours) and
    scaled to peak at 1 (keras-io scales before resizing, we after: the resize moves the peak)."""
    import tensorflow as tf

    keras.utils.set_random_seed(5)
    inputs = keras.Input((12, 10, 1))   # functional, as keras-io's model: its recipe reads model.output
    hidden = L.Conv2D(4, 3, activation="relu", name="last_conv")(L.Conv2D(4, 3, activation="relu")(inputs))
    model = keras.Model(inputs, L.Dense(3, activation="softmax")(L.Flatten()(hidden)))
    rng = np.random.default_rng(6)
    train = rng.uniform(-0.3, 0.0, size=(96, 12, 10, 1)).astype(np.float32)
    labels = (train[:, :6].mean(axis=(1, 2, 3)) > train[:, 6:].mean(axis=(1, 2, 3))).astype(int) + \
        (train[:, :, :5].mean(axis=(1, 2, 3)) > -0.15).astype(int)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(train, labels, epochs=5, batch_size=16, verbose=0)
    ours = get_explainer("gradcam", model).explain(x2d)
    assert (ours.extra["raw_max"] > 0).all()     # every sample has positive evidence: a real comparison
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.layers[-1].activation = None            # as keras-io does, on a copy: scores before softmax
    for i, target in enumerate(ours.targets):
        heat = keras_io_gradcam(copy, x2d[i:i + 1], "last_conv", int(target))
        up = tf.image.resize(heat[None, :, :, None], (12, 10), method="bilinear").numpy()[0, :, :, 0]
        np.testing.assert_allclose(ours.maps[i], up / up.max(), atol=1e-5)


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


@pytest.mark.parametrize("hide", [None, "min"])
@pytest.mark.parametrize("segmentation", ["grid", "quickshift"])
def test_lime_gives_stock_lime_segment_weights(conv2d, x2d, segmentation, hide):
    """Our batched LIME fits the same segment weights as ``lime``'s own ``LimeImageExplainer.explain_instance``
    called with the same image, segmentation, random state, number of samples and hidden value."""
    from lime.lime_image import LimeImageExplainer
    from lime.wrappers.scikit_image import SegmentationAlgorithm

    params = {"segmentation": segmentation, "num_samples": 60, "n_freq_bands": 3, "n_time_bands": 2, "seed": 4,
              "hide_color": hide}
    ours = get_explainer("lime", conv2d, **params).explain(x2d[:2])

    def classifier(images):   # RGB copies -> the model's one channel
        return conv2d.predict_on_batch(np.asarray(images, dtype=np.float32).mean(axis=-1)[..., None])

    for i in range(2):
        rgb = np.repeat(x2d[i], 3, axis=-1).astype(np.float64)
        if segmentation == "grid":
            segment = lambda image: masking.grid_segments(image.shape[:2], 3, 2)   # noqa: E731
        else:   # lime's quickshift, on the copy rescaled to [0, 1] that ours segments (README)
            quickshift = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2, random_seed=4)
            segment = lambda image: quickshift((image - image.min()) / (image.max() - image.min()))   # noqa: E731
        target = int(ours.targets[i])
        stock = LimeImageExplainer(random_state=4).explain_instance(
            rgb, classifier, labels=(target,), top_labels=None, hide_color=float(rgb.min()) if hide else None,
            num_samples=60, batch_size=10, segmentation_fn=segment, random_seed=4)
        np.testing.assert_array_equal(ours.extra["segments"][i], stock.segments)
        weights = dict(stock.local_exp[target])
        expected = np.vectorize(lambda s: weights[s])(stock.segments)
        np.testing.assert_allclose(ours.maps[i], expected, rtol=1e-5, atol=1e-7)


def test_lime_hides_segments_with_silence_or_their_mean_never_a_number(conv2d, x2d, monkeypatch):
    from xaispec.explain.lime_image import Lime

    seen = []
    original = Lime.classifier
    monkeypatch.setattr(Lime, "classifier", lambda self, images: seen.append(np.array(images)) or original(self, images))
    x = x2d[:1]
    exp = get_explainer("lime", conv2d, segmentation="grid", n_freq_bands=3, n_time_bands=2, num_samples=20,
                        hide_color="min").explain(x)
    images = np.concatenate(seen)[..., 0]
    hidden = images != x[0, ..., 0]
    assert hidden.any() and np.all(images[hidden] == x.min())    # "min": silence, the input's floor
    seen.clear()
    exp = get_explainer("lime", conv2d, segmentation="grid", n_freq_bands=3, n_time_bands=2, num_samples=20).explain(x)
    images = np.concatenate(seen)[..., 0]
    segments = exp.extra["segments"][0]
    for s in np.unique(segments):   # the default: each hidden segment takes its own mean
        cells = images[:, segments == s]
        off = ~np.all(cells == x[0, ..., 0][segments == s], axis=1)
        np.testing.assert_allclose(cells[off], x[0, ..., 0][segments == s].mean(), rtol=1e-5)
    for bad in (0, 0.0, "zero"):
        with pytest.raises(ParameterError, match="0 dB is the loudest value"):
            get_explainer("lime", conv2d, hide_color=bad)


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
        get_explainer("shap_permutation", conv1d, background=x1d, max_evals=10)


@pytest.mark.parametrize("name", ["shap_gradient", "shap_kernel", "shap_permutation", "shap_deep"])
def test_shap_estimators_need_a_background_and_never_use_the_explained_rows(conv1d, x1d, name):
    with pytest.raises(ParameterError, match=f"{name}: needs background rows"):
        get_explainer(name, conv1d)


def test_shap_kernel_and_permutation_equal_shap_called_directly(conv1d, x1d):
    """The same model, background rows, seed and budget give shap's own values (our wrapper only
    flattens, batches and lays the values out per class)."""
    import shap

    background = np.random.default_rng(9).normal(size=(12, 32, 1)).astype(np.float32)
    x = x1d[:2]

    def f(rows):
        return conv1d.predict_on_batch(np.asarray(rows, dtype=np.float32).reshape(-1, 32, 1))

    ours = get_explainer("shap_kernel", conv1d, background=background, k=4, nsamples=50, seed=3).explain(x)
    np.random.seed(3)
    direct = shap.KernelExplainer(f, shap.kmeans(background.reshape(12, -1), 4)).shap_values(
        x.reshape(2, -1), nsamples=50, silent=True)
    direct = np.stack(direct, axis=-1) if isinstance(direct, list) else np.asarray(direct)
    np.testing.assert_allclose(ours.extra["values"], direct, rtol=1e-4, atol=1e-6)

    ours = get_explainer("shap_permutation", conv1d, background=background, max_evals=100, seed=3).explain(x)
    np.random.seed(3)
    direct = shap.Explainer(f, shap.maskers.Independent(background.reshape(12, -1), max_samples=12),
                            algorithm="permutation", seed=3)(x.reshape(2, -1), max_evals=100, silent=True)
    np.testing.assert_allclose(ours.extra["values"], np.asarray(direct.values), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.extra["base_values"], np.asarray(direct.base_values), rtol=1e-5)


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
