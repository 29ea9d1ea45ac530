"""A run folder and the tasks trained in it: where every artifact lives, under the studies' names.

A run belongs to one corpus; its folder (default ``data/runs/<corpus>``) holds::

    splits/       AlexNet_{label}_{fold}_{train|validate|test}.txt (CNN_emotion_... for emotions)
    models/       AlexNet_{label}_{fold}.keras, CNN1D_emotion_{fold}.keras, CNN2D_emotion_{fold}.keras
    history/      the same names, .json and .csv
    predictions/  predictions_{label}_{fold}.csv (AlexNet), predictions_CNN1D_emotion_{fold}.csv, ...
    evaluation/   evaluation_..., confusionMatrix_... (+ _mean and _mean_percent per label)
    plots/loss/   Loss_{label}_{fold}.png; plots/accuracy/ Accuracy_...; plots/confusion/ Confusion_...
    events.log
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.corpora.base import BASE_COLUMNS
from ..errors import DataError, ParameterError
from .architectures import MODELS, PREFIX

EMOTION_CLASSES = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
#: label -> models that can learn it (the first is the default)
LABEL_MODELS = {"digit": ("alexnet", "audionet"), "gender": ("alexnet", "audionet"), "emotion": ("cnn1d", "cnn2d", "alexnet"),
                "cue": ("alexnet", "audionet")}
#: the index column each label's classes are read from (a manifest's own label: its column)
LABEL_COLUMNS = {"digit": "digit", "gender": "sex", "emotion": "emotion", "cue": "cue"}
#: the models that learn a manifest's own label column (e.g. ``accent``): the spectrogram's and the waveform's
OWN_LABEL_MODELS = ("alexnet", "audionet")


def label_models(label: str) -> tuple[str, ...]:
    """The models that can learn ``label`` (the first is the default)."""
    return LABEL_MODELS.get(label, OWN_LABEL_MODELS)


def classes(label: str, index: pd.DataFrame | None = None) -> list[str]:
    """Class names of ``label``, in the order of the model outputs.

    The planted-cue label ``cue`` has as many classes as its corpus (its numbers ``0``,
    ``1``, ...): they are read from the store's ``index``. The ``emotion`` label has RAVDESS's
    eight names in RAVDESS's order, unless the ``index`` (a manifest corpus's) holds other
    names: then its own, sorted. A manifest's own label column (e.g. ``accent``) has the
    values of that column of the ``index``, sorted.
    """
    if label == "cue":
        if index is None or "cue" not in index.columns:
            raise ParameterError("label 'cue': its classes are those of a planted-cue corpus's store index")
        return [str(c) for c in range(int(index["cue"].max()) + 1)]
    if label == "digit":
        return [str(d) for d in range(10)]
    if label == "gender":
        return ["male", "female"]  # the study's label: 0 male, 1 female
    if label == "emotion":
        values = set(index["emotion"].astype(str)) if index is not None and "emotion" in index.columns else set()
        if values and not values <= set(EMOTION_CLASSES):   # a corpus naming its own emotions
            return sorted(values)
        return list(EMOTION_CLASSES)
    if index is not None and label in index.columns and label not in BASE_COLUMNS:
        return sorted(set(index[label].astype(str)))
    raise ParameterError(f"label={label!r} is not one of {sorted(LABEL_MODELS)} nor a label column of the "
                         f"corpus's store")


def targets(label: str, index: pd.DataFrame) -> np.ndarray:
    """Class numbers of the samples in ``index`` for ``label``, shape (n,), int64.

    Raises
    ------
    DataError
        A sample has no valid class (e.g. unknown sex for the gender task).
    """
    names = classes(label, index)
    column = LABEL_COLUMNS.get(label, label)
    if column not in index.columns:
        raise DataError(f"the store has no {column!r} column: it cannot be used for label {label!r}")
    values = index[column].astype(str)
    lookup = {name: i for i, name in enumerate(names)}
    bad = sorted(set(values) - set(lookup))
    if bad:
        raise DataError(f"label {label!r}: values {bad[:5]} of column {column!r} are not classes {names}")
    return values.map(lookup).to_numpy(dtype=np.int64)


@dataclass(frozen=True)
class ModelSpec:
    """One model to train: ``label``, ``fold`` (an int, or ``"random"`` for the emotion
    study's leaky split, ``"grouped"`` for that split with each recording's copies on one side)
    and ``model`` (``alexnet``, ``audionet``, ``cnn1d``, ``cnn2d``)."""

    label: str
    fold: int | str
    model: str = "alexnet"
    #: the class names when the label alone does not say them (``cue``: see :meth:`Run.task`)
    class_names: tuple = field(default=(), compare=False, repr=False)

    @property
    def representation(self) -> str:
        return MODELS[self.model][0]

    @property
    def name(self) -> str:
        """Model and history file stem, e.g. ``AlexNet_digit_0``."""
        return f"{PREFIX[self.model]}_{self.label}_{self.fold}"

    @property
    def short(self) -> str:
        """Result file suffix: the study's ``{label}_{fold}`` for AlexNet, else the full name."""
        return f"{self.label}_{self.fold}" if self.model == "alexnet" else self.name

    @property
    def classes(self) -> list[str]:
        return list(self.class_names) or classes(self.label)


class Run:
    """The artifacts of one corpus's run.

    Parameters
    ----------
    run_dir : path-like
        The run folder.
    processed : path-like
        The corpus's folder of stores (``data/processed/<corpus>``).
    mode : {"exact", "fast"}
        Which AlexNet store to read.
    """

    def __init__(self, run_dir: str | os.PathLike, processed: str | os.PathLike, *, mode: str = "exact"):
        self.dir = Path(run_dir)
        self.processed = Path(processed)
        self.mode = mode
        self._store_classes: dict = {}   # (label, representation) -> classes, read once

    def store(self, representation: str) -> Path:
        from ..data.store import store_name

        mode = self.mode if representation in ("alexnet", "audionet") else "exact"
        return self.processed / store_name(representation, mode)

    def model_path(self, task: ModelSpec) -> Path:
        return self.dir / "models" / f"{task.name}.keras"

    def history_path(self, task: ModelSpec, ext: str = "json") -> Path:
        return self.dir / "history" / f"{task.name}.{ext}"

    def checkpoint_dir(self, task: ModelSpec) -> Path:
        return self.dir / "checkpoints" / task.name

    def predictions_path(self, task: ModelSpec) -> Path:
        return self.dir / "predictions" / f"predictions_{task.short}.csv"

    def evaluation_path(self, task: ModelSpec) -> Path:
        return self.dir / "evaluation" / f"evaluation_{task.short}.csv"

    def confusion_path(self, task: ModelSpec, suffix: str = "") -> Path:
        return self.dir / "evaluation" / f"confusionMatrix_{task.short}{suffix}.csv"

    def report_path(self, task: ModelSpec) -> Path:
        return self.dir / "evaluation" / f"classificationReport_{task.short}.csv"

    def mean_paths(self, label: str, model: str) -> dict[str, Path]:
        """The per-label mean files: evaluation, confusion matrix and its percentage version."""
        stem = label if model == "alexnet" else f"{PREFIX[model]}_{label}"
        ev = self.dir / "evaluation"
        return {"evaluation": ev / f"evaluation_{stem}_mean.csv",
                "confusion": ev / f"confusionMatrix_{stem}_mean.csv",
                "confusion_percent": ev / f"confusionMatrix_{stem}_mean_percent.csv"}

    def plot_path(self, task: ModelSpec, kind: str) -> Path:
        name = {"loss": "Loss", "accuracy": "Accuracy", "confusion": "Confusion"}[kind]
        return self.dir / "plots" / kind / f"{name}_{task.short}.png"

    def folds(self, label: str) -> list[int | str]:
        """Folds that have split files for ``label`` (ints first, then ``grouped`` and ``random``)."""
        from ..data.splits import model_name

        found = set()
        pattern = re.compile(rf"^{model_name(label)}_{label}_(\w+?)_test\.txt$")
        for path in (self.dir / "splits").glob(f"*_{label}_*_test.txt"):
            m = pattern.match(path.name)
            if m:
                found.add(int(m.group(1)) if m.group(1).isdigit() else m.group(1))
        return sorted((f for f in found if isinstance(f, int))) + sorted(f for f in found if isinstance(f, str))

    def model_folds(self, label: str, model: str | None = None) -> list[int | str]:
        """The folds ``model`` (default: the label's first) is trained on: every fold with split
        files, the random splits (``random``, ``grouped``) only for the emotion study's cnn1d. No split
        files: the error of :meth:`task`."""
        from ..data.splits import PROTOCOLS

        model = model or label_models(label)[0]
        folds = [f for f in self.folds(label) if f not in PROTOCOLS or (model == "cnn1d" and label == "emotion")]
        if not folds:
            self.task(label, 0, model)  # raises the error naming the missing splits
        return folds

    def task(self, label: str, fold, model: str | None = None) -> ModelSpec:
        """A validated :class:`ModelSpec`; errors list the valid labels, models and folds.

        ``label`` is one of :data:`LABEL_MODELS`, or a manifest's own label column that has
        split files in this run (``xaispec data splits CORPUS --label accent``)."""
        if not re.fullmatch(r"\w+", str(label)):
            raise ParameterError(f"label={label!r} is not a label name (letters, digits and _ only)")
        models = label_models(label)
        model = model or models[0]
        if model not in models:
            raise ParameterError(f"model={model!r} cannot learn {label!r}: use one of {list(models)}")
        valid = self.folds(label)
        if not valid and label not in LABEL_MODELS:
            raise ParameterError(f"label={label!r} is not one of {sorted(LABEL_MODELS)}, and {self.dir / 'splits'} "
                                 f"has no split files for it (a manifest's own label column is split with "
                                 f"'xaispec data splits CORPUS --label {label}')")
        if not valid:
            raise DataError(f"{self.dir / 'splits'}: no split files for label {label!r} "
                            f"(create them with 'xaispec data splits')")
        from ..data.splits import PROTOCOLS

        fold = int(fold) if str(fold).isdigit() else str(fold)
        if fold not in valid:
            raise ParameterError(f"fold {fold!r} does not exist for label {label!r}: valid folds are {valid}")
        if fold in PROTOCOLS and model != "cnn1d":
            raise ParameterError(f"the {fold} split is an emotion protocol of the study's cnn1d only")
        if label in ("cue", "emotion") or label not in LABEL_MODELS:   # classes read from the corpus's store
            return ModelSpec(label, fold, model, tuple(self.store_classes(label, MODELS[model][0])))
        return ModelSpec(label, fold, model)

    def store_classes(self, label: str, representation: str) -> list[str]:
        """The classes of ``label`` on this run's ``representation`` store (a planted-cue corpus's
        classes, a corpus's own emotion names: :func:`classes`); the label's defaults without a store."""
        if (label, representation) not in self._store_classes:
            from ..data.store import Store

            path = self.store(representation)
            if label not in LABEL_MODELS and not path.is_file():
                raise DataError(f"{path}: store not found: the classes of label {label!r} are read from it (create it "
                                f"with 'xaispec data prepare {self.processed.name} -r {representation}')")
            self._store_classes[(label, representation)] = classes(label, Store(path).index if path.is_file() else None)
        return self._store_classes[(label, representation)]


def open_run(corpus: str, root: str | os.PathLike | None = None, profile=None, *,
             run_dir: str | os.PathLike | None = None) -> Run:
    """The run of ``corpus`` under project ``root`` (default :meth:`xaispec.config.Paths.default`):
    ``data/runs/<corpus>`` (or ``run_dir``) reading the stores of ``data/processed/<corpus>`` in
    the profile's ``prepare.mode``. The one way the CLI, the book and notebooks open a run."""
    from ..config import Paths
    from ..data.corpora import get_corpus

    spec = get_corpus(corpus)
    paths = Paths(Path(root)) if root is not None else Paths.default()
    mode = profile.get("prepare.mode") if profile is not None else "exact"
    return Run(Path(run_dir) if run_dir else paths.run(spec.name), paths.processed / spec.name, mode=mode)
