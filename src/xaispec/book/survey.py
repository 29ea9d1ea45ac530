"""The survey chapter's toy problem: a tiny spectrogram-like task and a small CNN that solves it."""
from __future__ import annotations


def toy_problem(n: int = 96, size: int = 24, seed: int = 0):
    """A toy spectrogram task for the survey's demonstrations, and a small CNN trained on it.

    Class 0 images hold a horizontal band (a steady tone), class 1 a vertical band (a click),
    at random positions over noise.

    Parameters
    ----------
    n : int
        Images, alternating between the classes.
    size : int
        Image height and width.
    seed : int
        Seeds the images and the training.

    Returns
    -------
    tuple
        ``(model, x, y)`` with ``x`` (n, size, size, 1) float32 and ``y`` (n,) class ids; the
        model's last convolution layer is named ``last_conv``.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, size=(n, size, size)).astype(np.float32)
    y = np.arange(n) % 2
    for i in range(n):
        k = rng.integers(3, size - 3)
        if y[i] == 0:
            x[i, k - 1:k + 2, 3:size - 3] += 2.0
        else:
            x[i, 3:size - 3, k - 1:k + 2] += 2.0
    import keras

    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy("float32")
    model = keras.Sequential([
        keras.Input((size, size, 1)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="last_conv"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[..., None], y, epochs=15, batch_size=16, verbose=0)
    return model, x[..., None], y
