"""What a model reads: a split's rows of the store (:class:`Part`), batches of them
(:class:`BatchReader`), feature scaling fitted on training rows, and the ``tf.data``
pipeline that feeds training, evaluation and explanations alike.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, ParameterError
from .runs import Run, ModelSpec, targets

AUG = "#noise"


@dataclass
class Part:
    """One split part as store references: ``refs`` (n, 2) rows of (array number, row),
    array 0 being ``x`` and 1 ``x_augmented``; ``y`` (n,) class numbers; ``ids``."""

    refs: np.ndarray
    y: np.ndarray
    ids: list[str]

    def __len__(self) -> int:
        return len(self.y)


def load_parts(run: Run, task: ModelSpec, store) -> dict[str, Part]:
    """The train, validate and test parts of ``task`` as store references.

    For the 1D CNN the training part also holds the noise-augmented copies (the
    emotion study's augmentation); the random splits' (``random``, ``grouped``) rows are
    the study's augmented rows, and their validation part is their test part, as in the study.
    """
    from ..data.splits import PROTOCOLS, load_split

    y_all = targets(task.label, store.index)
    parts = {}
    names = ("train", "test") if task.fold in PROTOCOLS else ("train", "validate", "test")
    for name in names:
        ids = load_split(run.dir, task.label, task.fold, name)
        if task.model == "cnn1d" and task.fold not in PROTOCOLS and name == "train":
            ids = ids + [i + AUG for i in ids]
        base = [i[: -len(AUG)] if i.endswith(AUG) else i for i in ids]
        if task.fold in PROTOCOLS or task.model == "cnn1d":
            array = np.array([1 if i.endswith(AUG) else 0 for i in ids], dtype=np.int64)
        else:
            array = np.zeros(len(ids), dtype=np.int64)
        if array.any() and "x_augmented" not in store.arrays:
            raise DataError(f"{store.path}: has no augmented copies; the {task.model} task needs a mel128 store")
        rows = store.rows(base)
        parts[name] = Part(np.stack([array, rows], axis=1), y_all[rows], ids)
    if "validate" not in parts:
        parts["validate"] = parts["test"]
    for name, part in parts.items():
        if len(part) == 0:
            raise DataError(f"the {name} part of {task.name} is empty (check the split files in {run.dir / 'splits'})")
    return parts


class BatchReader:
    """Reads batches of rows from an open store, as contiguous slices where possible."""

    ARRAYS = ("x", "x_augmented")

    def __init__(self, path: str | os.PathLike):
        import h5py

        self.file = h5py.File(path, "r")
        self.datasets = [self.file[a] if a in self.file else None for a in self.ARRAYS]

    def read(self, refs: np.ndarray) -> np.ndarray:
        """Arrays of ``refs`` (n, 2), in the given order, shape (n, *row_shape), float32."""
        ds0 = self.datasets[0]
        out = np.empty((len(refs), *ds0.shape[1:]), dtype=np.float32)
        for a in np.unique(refs[:, 0]):
            sel = np.flatnonzero(refs[:, 0] == a)
            rows = refs[sel, 1]
            order = np.argsort(rows, kind="stable")
            sorted_rows = rows[order]
            block = self.datasets[a][np.unique(sorted_rows)]  # h5py needs increasing indices
            uniq, inverse = np.unique(sorted_rows, return_inverse=True)
            out[sel[order]] = block[inverse]
        return out

    def close(self) -> None:
        self.file.close()


# ---------------------------------------------------------------- scaling

def fit_scaling(reader: BatchReader, part: Part, *, model: str, kind: str, max_rows: int = 4000) -> dict:
    """Input scaling from the training part.

    ``study``: AlexNet divides dB values by 255 (the study's leftover from images), the
    1D CNN standardizes each feature (the emotion study's StandardScaler), the 2D CNN
    standardizes with one mean and deviation. ``standardize``: one mean and deviation
    (per feature for the 1D CNN) from up to ``max_rows`` training rows. AudioNet, with
    either: each waveform divided by its own 95th percentile plus 0.001 (the AudioMNIST
    paper's code), nothing fitted.
    """
    if kind not in ("study", "standardize"):
        raise ParameterError(f"scaling={kind!r} is not one of ['study', 'standardize']")
    if model == "audionet":
        return {"kind": "percentile", "q": 95.0, "offset": 0.001}
    if kind == "study" and model == "alexnet":
        return {"kind": "divide", "divisor": 255.0}
    take = part.refs if len(part) <= max_rows else part.refs[np.linspace(0, len(part) - 1, max_rows).astype(int)]
    x = reader.read(take).astype(np.float64)
    if model == "cnn1d":
        std = x.std(axis=0)
        return {"kind": "standardize", "mean": x.mean(axis=0).tolist(), "std": np.where(std > 0, std, 1.0).tolist()}
    std = float(x.std())
    return {"kind": "standardize", "mean": float(x.mean()), "std": std if std > 0 else 1.0}


def apply_scaling(x: np.ndarray, scaling: dict) -> np.ndarray:
    """Scale raw store rows ``x`` (n, ...) as the model was trained; adds the channel axis."""
    if scaling["kind"] == "divide":
        out = x / np.float32(scaling["divisor"])
    elif scaling["kind"] == "percentile":   # per sample: the paper's waveform normalisation
        level = np.percentile(x, scaling["q"], axis=tuple(range(1, x.ndim)), keepdims=True)
        out = x / (level + np.float32(scaling["offset"]))
    else:
        out = (x - np.asarray(scaling["mean"], dtype=np.float32)) / np.asarray(scaling["std"], dtype=np.float32)
    return out.astype(np.float32)[..., None]


#: the range of the dB representations (``ref=max``, ``top_db=80``): what a cell can hold
DB_RANGE = {"alexnet": (-80.0, 0.0), "mel2d": (-80.0, 0.0)}


def input_bounds(representation: str, scaling: dict) -> tuple[float, float] | None:
    """The lowest and highest value a model input can take, after ``scaling``, or None.

    dB spectrograms and log-mel images span [-80, 0] dB before scaling (the box rule of LRP
    needs these bounds in the model's input space); mel features and waveforms have no natural
    bounds (None).
    """
    if representation not in DB_RANGE:
        return None
    low, high = apply_scaling(np.asarray([DB_RANGE[representation]], dtype=np.float32), scaling)[0, :, 0]
    return float(low), float(high)


def load_scaling(run: Run, task: ModelSpec) -> dict:
    """The scaling saved beside a trained model."""
    path = run.model_path(task).with_suffix(".scaling.json")
    if not path.is_file():
        raise DataError(f"{path}: scaling not found (train the model with 'xaispec train')")
    return json.loads(path.read_text(encoding="utf-8"))


def dataset(reader: BatchReader, part: Part, scaling: dict, *, batch_size: int, seed: int | None = None,
            autotune: bool = False):
    """A ``tf.data.Dataset`` of (x, y) batches read from the store.

    With ``seed`` the order is a permutation drawn from that seed (one per epoch);
    without, the part's order. Batches are prefetched (two) while the model trains.
    ``autotune`` turns tf.data's autotuning on (off by default: see below; ``bench/epoch_end.py``
    times both).
    """
    import tensorflow as tf

    order = np.random.default_rng(seed).permutation(len(part)) if seed is not None else np.arange(len(part))
    row_shape = reader.datasets[0].shape[1:]

    def batches():
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            yield apply_scaling(reader.read(part.refs[idx]), scaling), part.y[idx]

    spec = (tf.TensorSpec((None, *row_shape, 1), tf.float32), tf.TensorSpec((None,), tf.int64))
    n_batches = -(-len(order) // batch_size)
    ds = tf.data.Dataset.from_generator(batches, output_signature=spec)
    # no autotuning: its background thread sleeps in doubling periods (10 ms ... 20.48 s), and
    # deleting an iterator (every fit and evaluate call ends with one) could wait for it to wake:
    # AlexNet epochs of 23 s took 41.0 s (0.01 s x (2^12 - 1)) about one time in three (bench/RESULTS.md)
    options = tf.data.Options()
    options.autotune.enabled = autotune
    # a known length lets Keras size its progress and not warn about running out of data
    return ds.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2).with_options(options)


def spread(part: Part, limit: int) -> Part:
    """At most ``limit`` rows of ``part``, evenly spread over it in its order (``limit`` 0: all)."""
    if not limit or len(part) <= limit:
        return part
    keep = np.unique(np.linspace(0, len(part) - 1, int(limit)).round().astype(int))
    return Part(part.refs[keep], part.y[keep], [part.ids[i] for i in keep])
