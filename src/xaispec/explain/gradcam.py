"""Grad-CAM (Selvaraju et al., 2017) on the last convolution layer, after the keras-io example.

A separate gradient model maps the trained model's input to ``[conv output, scores]``;
the trained model is never changed (the study set its last activation to None in place).
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from . import _model
from .base import Explainer, check_choice, check_positive_int, register


def find_conv_layer(model):
    """The last convolution layer whose output has the input's rank (4D for images, 3D for 1D).

    Raises
    ------
    ParameterError
        When the model has no such layer.
    """
    rank = len(_model.input_shape(model)) + 1
    for layer in reversed(model.layers):
        if "Conv" in type(layer).__name__ and len(layer.output.shape) == rank:
            return layer
    raise ParameterError(f"model {model.name!r} has no convolution layer with {rank}D output for Grad-CAM")


def cam_function(model, layer_name: str, output: str = "logits", plus_plus: bool = False):
    """Compiled ``f(x, targets) -> (maps, raw_max, targets)`` for a batch, cached per model, layer
    and variant; a target of -1 stands for the predicted class.

    ``maps`` (n, *spatial_shape) are the ReLU'd class activation maps upsampled bilinearly
    to the input size and divided by their maximum (all-zero maps stay zero);
    ``raw_max`` (n,) is each map's maximum before that division.
    """
    def build():
        import keras
        import tensorflow as tf

        # a new model sharing the trained layers: [conv activations, class scores]
        layer = model.get_layer(layer_name)
        scores = _model.output_model(model, output).outputs[0]
        # the layer's output in the model's own graph (a loaded Sequential has stale copies)
        grad_model = keras.Model(model.inputs, [_model.layer_output(model, layer), scores],
                                 name=f"{model.name}_gradcam")
        spatial = _model.spatial_shape(model)
        axes = list(range(1, len(spatial) + 1))
        spec = [tf.TensorSpec((None, *_model.input_shape(model)), tf.float32), tf.TensorSpec((None,), tf.int32)]

        @tf.function(input_signature=spec)
        def cam(x, targets):
            # one tape for the batch: each sample's score depends only on its own activations
            with tf.GradientTape() as tape:
                conv, out = grad_model(x, training=False)
                # a target of -1 means the predicted class: found in this same forward pass
                targets = tf.where(targets < 0, tf.argmax(out, axis=1, output_type=tf.int32), targets)
                score = tf.gather(out, targets, axis=1, batch_dims=1)
            grads = tape.gradient(score, conv)
            if plus_plus:
                # Grad-CAM++ with exp(score): alpha = g^2 / (2 g^2 + sum(A) g^3); the common
                # factor exp(score) of the weights is dropped (removed by the normalisation)
                g2, g3 = grads ** 2, grads ** 3
                total = tf.reduce_sum(conv, axis=axes, keepdims=True)
                alpha = tf.math.divide_no_nan(g2, 2.0 * g2 + total * g3)
                weights = tf.reduce_sum(alpha * tf.nn.relu(grads), axis=axes)
            else:
                # channel importance: gradients averaged over the map
                weights = tf.reduce_mean(grads, axis=axes)
            # weighted channel sum; only positive evidence for the class is kept
            heat = tf.nn.relu(tf.einsum("n...c,nc->n...", conv, weights))
            # back to the input's size, as a one-channel image (1D maps as a column)
            img = heat[..., None] if len(spatial) == 2 else heat[:, :, None, None]
            size = spatial if len(spatial) == 2 else (spatial[0], 1)
            up = tf.image.resize(img, size, method="bilinear")
            up = up[..., 0] if len(spatial) == 2 else up[:, :, 0, 0]
            # per-sample scale to [0, 1]; an all-zero map stays zero instead of NaN
            peak = tf.reduce_max(up, axis=axes, keepdims=True)
            return tf.math.divide_no_nan(up, peak), tf.reshape(peak, (-1,)), targets

        return cam

    return _model.cached(model, ("cam", layer_name, output, plus_plus), build)


@register
class GradCAM(Explainer):
    """Grad-CAM heatmaps in [0, 1], aligned with the input.

    Parameters
    ----------
    layer : str or None
        Convolution layer; None = the last one (see :func:`find_conv_layer`).
    output : {"logits", "probs"}
        Differentiate the pre-softmax score (default) or the probability.
    batch_size : int

    ``extra["raw_max"]`` (n,) is each map's maximum before normalisation (0: no positive
    evidence, the map is all zeros); ``params["layer"]`` names the layer used.
    """

    name = "gradcam"
    bfloat16 = True  # bench/RESULTS.md: its bfloat16 maps agree with float32's
    plus_plus = False
    defaults = {"layer": None, "output": "logits", "batch_size": 64}

    def _check_params(self):
        check_choice(self.name, "output", self.params["output"], _model.OUTPUTS)
        check_positive_int(self.name, "batch_size", self.params["batch_size"])
        if self.params["layer"] is None:
            self.params["layer"] = find_conv_layer(self.model).name
        elif self.params["layer"] not in [layer.name for layer in self.model.layers]:
            raise ParameterError(f"{self.name}: layer={self.params['layer']!r} is not a layer of model {self.model.name!r}")

    resolves_targets = True

    def _explain(self, x, targets):
        fn = cam_function(self.model, self.params["layer"], self.params["output"], self.plus_plus)
        maps, peaks, used = [], [], []
        bs = self.params["batch_size"]
        for i in range(0, len(x), bs):
            m, p, t = fn(x[i:i + bs], targets[i:i + bs].astype(np.int32))
            maps.append(m.numpy())
            peaks.append(p.numpy())
            used.append(t.numpy())
        _model.count(forward=len(x), backward=len(x))
        return np.concatenate(maps), {"raw_max": np.concatenate(peaks), "targets": np.concatenate(used)}
