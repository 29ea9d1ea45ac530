"""The survey chapter's toy problem: a tiny spectrogram-like task, a small CNN that solves it,
and each explanation method's maps of it."""
from __future__ import annotations

from dataclasses import dataclass


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


@dataclass
class ToyDemo:
    """The survey's demonstration: the toy model, its data and what the methods explain.

    Attributes
    ----------
    model : keras.Model
    x, y : numpy.ndarray
        The training inputs (n, size, size, 1) and their classes.
    demo : numpy.ndarray
        The inputs every method explains: the first two, one of each class.
    background : numpy.ndarray
        Reference inputs for the SHAP estimators (inputs 8 to 39).
    accuracy : float
        The share of training inputs the model classifies correctly.
    """

    model: object
    x: object
    y: object
    demo: object
    background: object
    accuracy: float

    @property
    def inputs(self) -> int:
        """How many training inputs there are."""
        return len(self.x)


def toy_demo(**kwargs) -> ToyDemo:
    """:func:`toy_problem` (``kwargs`` passed on), its demonstration inputs and accuracy."""
    model, x, y = toy_problem(**kwargs)
    accuracy = float((model.predict(x, verbose=0).argmax(axis=1) == y).mean())
    return ToyDemo(model, x, y, demo=x[:2], background=x[8:40], accuracy=accuracy)


def toy_figure(toy: ToyDemo, method: str, title: str, **params):
    """Explain the demonstration inputs with ``method`` and draw each input beside its map.

    Parameters
    ----------
    toy : ToyDemo
    method : str
        An explainer name (:func:`xaispec.explain.get_explainer`).
    title : str
        The method's name on the figure and in the caption.
    **params
        The explainer's parameters.

    Returns
    -------
    tuple
        ``(figure, caption)``; the caption states the seconds the method took.
    """
    from ..explain import get_explainer
    from ..figures.maps import input_map_pairs

    explanation = get_explainer(method, toy.model, **params).explain(toy.demo)
    fig = input_map_pairs([d[..., 0] for d in toy.demo], explanation.maps,
                          [f"input, class {c}" for c in toy.y[:len(toy.demo)]], title)
    caption = (f"{title} on the toy problem: each input (class 0 = horizontal band, class 1 = vertical band) "
               f"beside its map ({explanation.runtime:.2f} s for both).")
    return fig, caption
