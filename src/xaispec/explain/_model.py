"""Keras model helpers shared by the methods: shapes, batched predictions, logits, gradients.

TensorFlow and Keras are imported inside the functions. Derived models and compiled
``tf.function`` s are cached per model (weakly, so a discarded model frees them), and
they share the trained model's variables: the trained model itself is never modified.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..errors import ParameterError

#: model -> {key: derived model or compiled function}
_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

OUTPUTS = ("logits", "probs")

#: rows run through a network since the process started: the explanations' work units
_WORK = {"forward": 0, "backward": 0}


def count(forward: int = 0, backward: int = 0) -> None:
    """Add ``forward`` rows evaluated and ``backward`` rows differentiated to :func:`work`."""
    _WORK["forward"] += int(forward)
    _WORK["backward"] += int(backward)


def work() -> dict:
    """Rows evaluated (``forward``) and differentiated (``backward``) by every method so far in
    this process; the difference over a task is its cost in work units."""
    return dict(_WORK)


def cached(model, key, build):
    """``build()`` once per ``(model, key)``; later calls return the stored result."""
    store = _CACHE.setdefault(model, {})
    if key not in store:
        store[key] = build()
    return store[key]


# -- shapes ----------------------------------------------------------------------------------
def input_shape(model) -> tuple[int, ...]:
    """The model's input shape without the batch axis, e.g. (227, 227, 1)."""
    shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else tuple(model.input_shape[1:])
    if any(d is None for d in shape):
        raise ParameterError(f"model input shape {shape} has unknown sizes; explanations need a fixed shape")
    return tuple(int(d) for d in shape)


def spatial_shape(model) -> tuple[int, ...]:
    """The input shape without the channel axis: (227, 227) for (227, 227, 1), (128,) for (128, 1)."""
    shape = input_shape(model)
    return shape[:-1] if len(shape) >= 2 else shape


def n_classes(model) -> int:
    """Number of model outputs (classes)."""
    return int(model.outputs[0].shape[-1])


def prepare_input(model, x) -> np.ndarray:
    """``x`` as float32 (n, *input_shape); a missing single channel axis is added.

    Raises
    ------
    ParameterError
        When the shape does not fit the model.
    """
    x = np.asarray(x, dtype=np.float32)
    shape = input_shape(model)
    if x.shape[1:] == shape:
        return x
    if shape[-1] == 1 and len(shape) >= 2 and x.shape[1:] == shape[:-1]:
        return x[..., None]
    raise ParameterError(f"inputs of shape {x.shape} do not fit the model input (n, {', '.join(map(str, shape))})")


def reduce_channels(a: np.ndarray, model) -> np.ndarray:
    """Sum an array of shape (n, *input_shape) over the channel axis -> (n, *spatial_shape)."""
    return a.sum(axis=-1) if len(input_shape(model)) >= 2 else a


def predict(model, x: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
    """Model outputs for ``x`` predicted in batches of ``batch_size`` (``predict_on_batch``)."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return np.zeros((0, n_classes(model)), dtype=np.float32)
    out = [np.asarray(model.predict_on_batch(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    count(forward=len(x))
    return np.concatenate(out).astype(np.float32, copy=False)


def resolve_targets(model, x: np.ndarray, targets, *, batch_size: int = 64) -> np.ndarray:
    """The class to explain per sample: the predicted one when ``targets`` is None."""
    k = n_classes(model)
    if targets is None:
        return predict(model, x, batch_size=batch_size).argmax(axis=1).astype(np.int64)
    t = np.asarray(targets)
    if t.ndim == 0:
        t = np.full(len(x), int(t))
    t = t.reshape(-1)
    if len(t) != len(x) or not np.issubdtype(t.dtype, np.integer) or t.min(initial=0) < 0 or t.max(initial=0) >= k:
        raise ParameterError(f"targets {t.tolist()[:10]} must be {len(x)} class indices in [0, {k})")
    return t.astype(np.int64)


# -- graph tensors ---------------------------------------------------------------------------
def _graph_node(model, layer):
    """The node that calls ``layer`` in ``model``'s own graph, or None (subclassed models)."""
    graph = getattr(model, "_functional", None) or model  # a Sequential keeps its graph in _functional
    for nodes in getattr(graph, "_nodes_by_depth", {}).values():
        for node in nodes:
            if node.operation is layer:
                return node
    return None


def layer_output(model, layer):
    """The symbolic output of ``layer`` in ``model``'s graph.

    ``layer.output`` is the output of the layer's *first* call: a Sequential model loaded
    from a file is rebuilt once per added layer, so its earlier layers have several calls
    and ``layer.output`` belongs to a stale copy of the graph. A model built from it and
    ``model.outputs`` would compute the layer twice, and gradients between the two would
    be None.
    """
    node = _graph_node(model, layer)
    return node.outputs[0] if node is not None else layer.output


def layer_input(model, layer):
    """The symbolic input of ``layer`` in ``model``'s graph (see :func:`layer_output`)."""
    node = _graph_node(model, layer)
    return node.input_tensors[0] if node is not None else layer.input


# -- logits ----------------------------------------------------------------------------------
def _is_squashing(activation) -> bool:
    name = getattr(activation, "__name__", str(activation))
    return name in ("softmax", "sigmoid")


def logit_model(model):
    """A model from ``model``'s input to its pre-softmax/sigmoid scores (cached, weights shared).

    If the last layer is a Dense with a softmax or sigmoid activation, the new output is
    ``penultimate @ kernel + bias`` computed from that layer's own variables; if it is a
    softmax/sigmoid Activation (or Softmax) layer, its input. Otherwise the output is used
    as it is. The trained model, including ``model.layers[-1].activation``, is unchanged.
    """
    def build():
        import keras

        last = model.layers[-1]
        if isinstance(last, keras.layers.Dense) and _is_squashing(last.activation):
            out = _linear_of(last)(layer_input(model, last))
        elif (isinstance(last, keras.layers.Softmax)
              or (isinstance(last, keras.layers.Activation) and _is_squashing(last.activation))):
            out = layer_input(model, last)
        else:
            return None  # the output is already a score; stored as None, not as the model itself
        return keras.Model(model.inputs, out, name=f"{model.name}_logits")

    derived = cached(model, "logit_model", build)
    return model if derived is None else derived


def _linear_of(dense):
    """A layer computing ``x @ dense.kernel + dense.bias`` with ``dense``'s own variables."""
    import keras

    class LinearOf(keras.layers.Layer):
        def __init__(self, source, **kwargs):
            super().__init__(**kwargs)
            self.source = source

        def call(self, x):
            y = keras.ops.matmul(x, self.source.kernel)
            return y + self.source.bias if self.source.use_bias else y

    # same dtype policy as the source layer (mixed precision models keep a float32 output layer)
    return LinearOf(dense, name=f"{dense.name}_linear", dtype=dense.dtype_policy)


def output_model(model, output: str):
    """``logit_model(model)`` for ``output="logits"``, the model itself for ``"probs"``."""
    if output not in OUTPUTS:
        raise ParameterError(f"output={output!r} is not one of {list(OUTPUTS)}")
    return logit_model(model) if output == "logits" else model


# -- gradients -------------------------------------------------------------------------------
def gradient_fn(model, output: str = "logits"):
    """Compiled ``f(x, targets) -> (d score / d x, score)`` for a batch (cached per model and output).

    ``score[i] = output[i, targets[i]]``; one tape for the whole batch (samples do not
    interact in inference mode, so the gradient of the summed scores is per-sample).
    """
    def build():
        import tensorflow as tf

        # a weak reference: the cache must not keep the model alive
        net = weakref.ref(output_model(model, output))
        spec = [tf.TensorSpec((None, *input_shape(model)), tf.float32), tf.TensorSpec((None,), tf.int32)]

        @tf.function(input_signature=spec)
        def grad(x, targets):
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = tf.gather(net()(x, training=False), targets, axis=1, batch_dims=1)
            return tape.gradient(score, x), score

        return grad

    return cached(model, ("gradient", output), build)


def gradients(model, x: np.ndarray, targets: np.ndarray, *, output: str = "logits",
              batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Input gradients and scores of the target class, in batches.

    Parameters
    ----------
    x : np.ndarray, shape (m, *input_shape)
    targets : np.ndarray, shape (m,)

    Returns
    -------
    grads : np.ndarray, shape (m, *input_shape), float32
    scores : np.ndarray, shape (m,), float32
    """
    fn = gradient_fn(model, output)
    grads, scores = [], []
    for i in range(0, len(x), batch_size):
        g, s = fn(np.asarray(x[i:i + batch_size], dtype=np.float32), np.asarray(targets[i:i + batch_size], dtype=np.int32))
        grads.append(g.numpy())
        scores.append(s.numpy())
    count(forward=len(x), backward=len(x))
    return np.concatenate(grads), np.concatenate(scores)


def scores(model, x: np.ndarray, targets: np.ndarray, *, output: str = "probs", batch_size: int = 64) -> np.ndarray:
    """The target class's output (probability or logit) per sample, shape (m,)."""
    out = predict(output_model(model, output), x, batch_size=batch_size)
    return out[np.arange(len(x)), np.asarray(targets)]
