"""Which test samples of a model to explain: the test fold with its predictions, and three ways to choose.

The AudioMNIST study chose what to explain in three ways:

1. mode ``examples`` (``n`` samples per digit and sex of the test fold), ``all`` (the whole
   test fold) or ``single`` (one sample): :func:`select_examples`;
2. one given sample (by digit, participant and repetition, or by sample id):
   :func:`select_sample`;
3. the samples the model predicted ``wrong`` or ``correct``, optionally only the first N:
   :func:`select_predictions`.

Each chooses rows of :func:`test_table`, the input of :func:`xaispec.study.stage.explain`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..models.runs import Run, ModelSpec

MODES = ("examples", "all", "single")
WHICH = ("wrong", "correct")


def task_store(run: Run, task: ModelSpec):
    """The :class:`~xaispec.data.store.Store` holding ``task``'s inputs."""
    from ..data.store import Store

    return Store(run.store(task.representation))


def _class_column(task: ModelSpec, index: pd.DataFrame) -> str:
    """The column samples are grouped by in ``examples`` mode and named by: digit, else the label's."""
    if task.label == "cue":   # a planted-cue clip's spoken digit says nothing about its class
        return "cue"
    if "digit" in index.columns:
        return "digit"
    return {"gender": "sex", "emotion": "emotion"}.get(task.label, task.label)


def test_table(run: Run, task: ModelSpec, *, model=None, batch_size: int = 64) -> pd.DataFrame:
    """The test fold of ``task`` with the model's predictions, one row per test sample in split order.

    Columns: ``sample_id``, ``array`` and ``row`` (where the input is in the store),
    the store index's columns (``participant`` = speaker, ``sex``, ``repetition``, ``digit``
    or ``emotion``, ``path``, ``offset``, ...), ``actual``, ``predicted`` (class names),
    ``correct``, ``target`` (predicted class index: what is explained) and ``p_<class>``.

    The predictions come from the evaluation's predictions file when it is newer than the
    model, else they are computed with ``model`` (loaded when None).
    """
    from ..explain import predict
    from ..models.loading import load_model
    from ..models.datasets import AUG, BatchReader, apply_scaling, load_parts, load_scaling

    store = task_store(run, task)
    test = load_parts(run, task, store)["test"]
    base = [i[: -len(AUG)] if i.endswith(AUG) else i for i in test.ids]
    info = store.index.set_index("sample_id").loc[base].reset_index(drop=True)
    info = info.rename(columns={"speaker": "participant"})
    table = pd.concat([pd.DataFrame({"sample_id": test.ids, "base_id": base, "array": test.refs[:, 0],
                                     "row": test.refs[:, 1]}), info], axis=1)
    names = task.classes
    pred_path = run.predictions_path(task)
    model_path = run.model_path(task)
    proba = None
    if pred_path.is_file() and (not model_path.is_file() or pred_path.stat().st_mtime >= model_path.stat().st_mtime):
        pred = pd.read_csv(pred_path, dtype={"participant": str, "actual": str, "predicted": str})
        if list(pred["sample_id"]) == list(test.ids):
            cols = [f"p_{c}" for c in names]
            if all(c in pred.columns for c in cols):
                proba = pred[cols].to_numpy(dtype=np.float64)
    if proba is None:
        model = model if model is not None else load_model(run, task)
        scaling = load_scaling(run, task)
        reader = BatchReader(store.path)
        try:
            out = []
            for i in range(0, len(test), batch_size):
                x = apply_scaling(reader.read(test.refs[i:i + batch_size]), scaling)
                out.append(predict(model, x, batch_size=batch_size))
            proba = np.concatenate(out).astype(np.float64)
        finally:
            reader.close()
    y_pred = proba.argmax(axis=1)
    table["actual"] = [names[i] for i in test.y]
    table["predicted"] = [names[i] for i in y_pred]
    table["correct"] = test.y == y_pred
    table["actual_index"] = test.y.astype(np.int64)
    table["target"] = y_pred.astype(np.int64)
    for k, name in enumerate(names):
        table[f"p_{name}"] = proba[:, k]
    return table


def _participants_hint(run: Run, task: ModelSpec) -> str:
    cmd = f"xaispec info participants {run.processed.name} --label {task.label} --fold {task.fold}"
    if task.model != "alexnet":
        cmd += f" --model {task.model}"
    return f"list the valid ones with '{cmd}'"


def select_examples(table: pd.DataFrame, task: ModelSpec, *, mode: str = "examples", n: int = 1,
                    seed: int = 0) -> pd.DataFrame:
    """Samples of a test table (see :func:`test_table`) by the study's modes.

    Parameters
    ----------
    mode : {"examples", "all", "single"}
        ``examples``: ``n`` samples per digit (emotion for emotion corpora) and sex, drawn
        with ``seed``; ``all``: the whole test fold; ``single``: its first sample.
    n : int
        1 to 5, as the study.
    """
    if mode not in MODES:
        raise ParameterError(f"mode={mode!r} is not one of {list(MODES)}")
    if mode == "all":
        return table.reset_index(drop=True)
    if mode == "single":
        return table.head(1).reset_index(drop=True)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 5:
        raise ParameterError(f"n={n!r} must be an integer from 1 to 5 (samples per class and sex)")
    column = _class_column(task, table)
    originals = table[~table["sample_id"].str.contains("#", regex=False)]
    rng = np.random.default_rng(seed)
    chosen = []
    for _, group in originals.groupby([column, "sex"], sort=True):
        take = rng.choice(len(group), size=min(n, len(group)), replace=False)
        chosen.extend(group.index[np.sort(take)])
    return table.loc[sorted(chosen)].reset_index(drop=True)


def _norm_participant(p, available) -> str:
    text = str(p)
    if text not in set(available) and text.isdigit():
        for width in (2, 1):
            cand = f"{int(text):0{width}d}"
            if cand in set(available):
                return cand
    return text


def select_sample(table: pd.DataFrame, run: Run, task: ModelSpec, *, sample_id: str | None = None, digit=None,
                  participant=None, repetition=None) -> pd.DataFrame:
    """One given sample of a model's test fold, by ``sample_id`` or by digit, participant and repetition.

    Raises
    ------
    ParameterError
        The sample is not in the model's test fold (the message says how to list the
        participants that are), or the description is incomplete.
    """
    if sample_id is not None:
        hit = table[(table["sample_id"] == str(sample_id))]
        what = f"sample {sample_id!r}"
    else:
        if participant is None or repetition is None or (digit is None and "digit" in table.columns):
            raise ParameterError("give a sample id, or digit, participant and repetition")
        if "digit" not in table.columns:
            raise ParameterError(f"the {task.name} samples have no digit: give the sample id")
        p = _norm_participant(participant, table["participant"])
        hit = table[(table["participant"] == p) & (table["digit"].astype(str) == str(digit))
                    & (table["repetition"].astype(str) == str(repetition))]
        what = f"digit {digit}, participant {p}, repetition {repetition}"
    if hit.empty:
        present = sorted(table["participant"].unique())
        raise ParameterError(f"{what} is not in the test fold of {task.name} (its participants: "
                             f"{', '.join(present[:20])}{' ...' if len(present) > 20 else ''}); "
                             f"{_participants_hint(run, task)}")
    return hit.head(1).reset_index(drop=True)


def select_predictions(table: pd.DataFrame, *, which: str = "wrong", first: int | None = None) -> pd.DataFrame:
    """The ``wrong`` or ``correct`` predictions of a test table, optionally only the first N."""
    if which not in WHICH:
        raise ParameterError(f"which={which!r} is not one of {list(WHICH)}")
    out = table[table["correct"] == (which == "correct")]
    if first is not None:
        if isinstance(first, bool) or not isinstance(first, (int, np.integer)) or first < 1:
            raise ParameterError(f"first={first!r} must be an integer >= 1")
        out = out.head(int(first))
    return out.reset_index(drop=True)
