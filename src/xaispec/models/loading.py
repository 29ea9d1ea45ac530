"""A trained model from its run folder, and copies of it that compute in another precision.

Models may be trained in mixed precision (``mixed_bfloat16``); explanations are computed on
a float32 copy with the same weights by default (:func:`float32_model`). Keras is imported
only when a model is loaded or copied.
"""
from __future__ import annotations

from ..errors import DataError
from .runs import Run, ModelSpec


def load_model(run: Run, task: ModelSpec):
    """The trained Keras model of ``task``, loaded without its optimizer state.

    Parameters
    ----------
    run : Run
    task : ModelSpec

    Returns
    -------
    keras.Model

    Raises
    ------
    DataError
        The model file is missing (the message names the train command that makes it) or
        is not a readable Keras model.
    """
    import keras

    path = run.model_path(task)
    if not path.is_file():
        model = f" --model {task.model}" if task.model != "alexnet" else ""
        raise DataError(f"{path}: model not found (train it with 'xaispec train {run.processed.name} "
                        f"--label {task.label} --fold {task.fold}{model}')")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise DataError(f"{path}: not a readable Keras model ({str(exc).splitlines()[0][:200]})") from None


def model_copy(model, policy: str):
    """A copy of ``model`` with the same weights whose layers compute in ``policy``.

    Parameters
    ----------
    model : keras.Model
    policy : str
        ``"float32"`` or ``"mixed_bfloat16"``; the output layer stays float32, as Keras'
        mixed precision keeps it.

    Returns
    -------
    keras.Model
    """
    import keras

    def clone(layer):
        cfg = layer.get_config()
        cfg["dtype"] = "float32" if layer is model.layers[-1] else policy
        return layer.__class__.from_config(cfg)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def float32_model(model):
    """A float32 copy of a (mixed-precision) Keras model with the same weights.

    A model whose layers all compute in float32 already is returned as it is.
    """
    if model_precision(model) == "float32":
        return model
    return model_copy(model, "float32")


def model_precision(model) -> str:
    """The precision explanations of ``model`` are computed in.

    Returns
    -------
    str
        ``"float32"`` when every layer computes in float32, else the first other policy's
        name (e.g. ``"mixed_bfloat16"``).
    """
    for layer in model.layers:
        policy = getattr(layer, "dtype_policy", None)
        if getattr(layer, "compute_dtype", "float32") != "float32":
            return getattr(policy, "name", str(layer.compute_dtype))
    return "float32"
