"""Model builders: the studies' networks, layer for layer.

Each builder imports Keras when called, so importing this module stays light.
"""
from __future__ import annotations

from ..errors import ParameterError

#: model name -> (representation it reads, input shape)
MODELS = {
    "alexnet": ("alexnet", (227, 227, 1)),
    "audionet": ("audionet", (8000, 1)),
    "cnn1d": ("mel128", (128, 1)),
    "cnn2d": ("mel2d", (40, 108, 1)),
}
#: file-name prefix of each model's artifacts (the studies' names)
PREFIX = {"alexnet": "AlexNet", "audionet": "AudioNet", "cnn1d": "CNN1D", "cnn2d": "CNN2D"}


def alexnet(n_classes: int, *, input_shape=(227, 227, 1), study_sigmoid: bool = False):
    """The AudioMNIST study's AlexNet variant.

    Conv 96@11x11/4, BN, MaxPool 3/2; Conv 256@5x5, BN, MaxPool; Conv 384@3x3, BN;
    Conv 384@3x3, BN; Conv 256@3x3, BN, MaxPool; Dense 1024, Dropout 0.5; Dense 1024,
    Dropout 0.5; Dense ``n_classes``.

    Parameters
    ----------
    n_classes : int
    input_shape : tuple, default (227, 227, 1)
    study_sigmoid : bool
        Use the study's sigmoid output (it paired sigmoid with sparse categorical
        cross-entropy for the 2-class sex task, which is a flaw). Default: softmax.
    """
    import keras
    from keras import layers

    if n_classes < 2:
        raise ParameterError(f"n_classes={n_classes} must be at least 2")
    return keras.Sequential([
        keras.Input(input_shape),
        layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1"),
        layers.BatchNormalization(), layers.MaxPooling2D(3, 2),
        layers.Conv2D(256, 5, padding="same", activation="relu", name="conv2"),
        layers.BatchNormalization(), layers.MaxPooling2D(3, 2),
        layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3"),
        layers.BatchNormalization(),
        layers.Conv2D(384, 3, padding="same", activation="relu", name="conv4"),
        layers.BatchNormalization(),
        layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5"),
        layers.BatchNormalization(), layers.MaxPooling2D(3, 2),
        layers.Flatten(),
        layers.Dense(1024, activation="relu"), layers.Dropout(0.5),
        layers.Dense(1024, activation="relu"), layers.Dropout(0.5),
        layers.Dense(n_classes, activation="sigmoid" if study_sigmoid else "softmax", name="output",
                     dtype="float32"),  # float32 outputs under mixed precision
    ], name="AlexNet")


def audionet(n_classes: int, *, input_shape=(8000, 1), paper_init: bool = False):
    """The AudioMNIST paper's AudioNet on the embedded 8 kHz waveform.

    Six blocks of a 1D convolution (kernel 3, stride 1, same padding), ReLU and max pooling
    (100 filters, pool 3/2; then 64, 128, 128, 128, 128 filters, pool 2/2: 8,000 samples become
    125 x 128), then Dense 1024, Dropout 0.5, Dense 512, Dropout 0.5, Dense ``n_classes`` --
    without a ReLU after the two hidden dense layers, as in the paper's Caffe definition.

    Parameters
    ----------
    n_classes : int
    input_shape : tuple, default (8000, 1)
    paper_init : bool
        The paper's initialisation (weights Gaussian with standard deviation 0.1, biases 0);
        default: Keras's (Glorot uniform), which trains in fewer steps.
    """
    import keras
    from keras import layers

    if n_classes < 2:
        raise ParameterError(f"n_classes={n_classes} must be at least 2")
    init = keras.initializers.RandomNormal(stddev=0.1) if paper_init else "glorot_uniform"
    blocks = []
    for i, (filters, pool) in enumerate([(100, 3), (64, 2), (128, 2), (128, 2), (128, 2), (128, 2)], start=1):
        blocks += [layers.Conv1D(filters, 3, padding="same", activation="relu", kernel_initializer=init,
                                 name=f"conv{i}"),
                   layers.MaxPooling1D(pool, strides=2, padding="same", name=f"pool{i}")]
    return keras.Sequential([
        keras.Input(input_shape), *blocks, layers.Flatten(name="flatten"),
        layers.Dense(1024, kernel_initializer=init, name="fc7"), layers.Dropout(0.5),
        layers.Dense(512, kernel_initializer=init, name="fc8"), layers.Dropout(0.5),
        layers.Dense(n_classes, activation="softmax", kernel_initializer=init, name="output", dtype="float32"),
    ], name="AudioNet")


def cnn1d(n_classes: int = 8, *, input_shape=(128, 1)):
    """The emotion study's 1D CNN on the 128 mean mel-band features."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input(input_shape),
        layers.Conv1D(256, 5, padding="same", activation="relu"),
        layers.MaxPooling1D(5, strides=2, padding="same"),
        layers.Conv1D(256, 5, padding="same", activation="relu"),
        layers.MaxPooling1D(5, strides=2, padding="same"),
        layers.Conv1D(128, 5, padding="same", activation="relu"),
        layers.MaxPooling1D(5, strides=2, padding="same"),
        layers.Dropout(0.2),
        layers.Conv1D(64, 5, padding="same", activation="relu", name="conv_last"),
        layers.MaxPooling1D(5, strides=2, padding="same"),
        layers.Flatten(),
        layers.Dense(32, activation="relu"), layers.Dropout(0.3),
        layers.Dense(n_classes, activation="softmax", name="output", dtype="float32"),
    ], name="CNN1D")


def cnn2d(n_classes: int = 8, *, input_shape=(40, 108, 1)):
    """A small CNN on log-mel images, so image explainers apply to emotions too."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input(input_shape),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"), layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu", name="conv_last"),
        layers.BatchNormalization(),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.3),
        layers.Dense(n_classes, activation="softmax", name="output", dtype="float32"),
    ], name="CNN2D")


_BUILDERS = {"alexnet": alexnet, "audionet": audionet, "cnn1d": cnn1d, "cnn2d": cnn2d}


def build(name: str, n_classes: int, *, input_shape=None, seed: int | None = None, **options):
    """Build model ``name`` (``alexnet``, ``audionet``, ``cnn1d``, ``cnn2d``) for ``n_classes``.

    With ``seed``, the initial weights depend on ``seed`` alone (see :func:`draw_weights`);
    without, on the state of Python's ``random`` module, as Keras draws them.
    """
    if name not in _BUILDERS:
        raise ParameterError(f"model={name!r} is not one of {sorted(_BUILDERS)}")
    shape = tuple(input_shape) if input_shape is not None else MODELS[name][1]
    model = _BUILDERS[name](n_classes, input_shape=shape, **options)
    if seed is not None:
        draw_weights(model, seed)
    return model


def draw_weights(model, seed: int) -> None:
    """Draw every random initial weight of ``model`` again, from ``seed`` alone.

    Keras seeds each initializer with ``random.randint`` of Python's process-wide ``random``
    module, which other threads of the process draw from too (in a Dask worker, the event
    loop's ``dask.sizeof`` samples with ``random.sample``): the same seed could then start
    from other weights. Here the seeds come from a private ``random.Random(seed)``, in
    Keras's order (layer by layer: kernel, bias, then the layer's seed generators, an
    initializer shared by layers once), so a process where nothing else draws between
    ``keras.utils.set_random_seed(seed)`` and the build keeps Keras's own weights.
    """
    import random

    rng = random.Random(seed)
    drawn = {}
    for layer in model.layers:
        for attr in ("kernel", "bias"):
            init, weight = getattr(layer, f"{attr}_initializer", None), getattr(layer, attr, None)
            if weight is None or "seed" not in getattr(init, "get_config", dict)():   # zeros, ones: nothing drawn
                continue
            if id(init) not in drawn:
                drawn[id(init)] = rng.randint(1, int(1e9))
            again = type(init).from_config({**init.get_config(), "seed": drawn[id(init)]})
            weight.assign(again(tuple(weight.shape), dtype=weight.dtype))
        for _ in getattr(layer, "_seed_generators", ()):   # each drew one seed (dropout is reseeded per epoch)
            rng.randint(1, int(1e9))
