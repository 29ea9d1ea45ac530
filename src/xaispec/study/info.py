"""Input information: which samples a model got wrong or right, who is in a test fold,
and the sex of participants. Library functions for notebooks; ``xaispec info`` prints them.
The input-information chapter summarises the predictions with :func:`prediction_counts`,
:func:`prediction_table`, :func:`confusion_counts` and :func:`accuracy_by_participant`."""
from __future__ import annotations

import pandas as pd

from ..data.splits import load_split
from ..errors import DataError, ParameterError
from ..models.runs import Run, ModelSpec


def predictions(run: Run, task: ModelSpec, *, which: str = "wrong", first: int | None = None) -> pd.DataFrame:
    """The test predictions of ``task``'s model: ``wrong``, ``correct`` or ``all``, optionally the first N.

    Raises
    ------
    DataError
        The model has not been evaluated yet (names the command).
    """
    if which not in ("wrong", "correct", "all"):
        raise ParameterError(f"which={which!r} is not one of ['wrong', 'correct', 'all']")
    path = run.predictions_path(task)
    if not path.is_file():
        raise DataError(f"{path}: predictions not found (run 'xaispec evaluate {run.processed.name} "
                        f"--label {task.label} --fold {task.fold}')")
    table = pd.read_csv(path, dtype={"participant": str})
    if which != "all":
        table = table[table["correct"] == (which == "correct")]
    if first is not None:
        if first < 1:
            raise ParameterError(f"first={first} must be at least 1")
        table = table.head(first)
    return table.reset_index(drop=True)


def _speaker_sex(run: Run, representation: str = "alexnet") -> pd.Series:
    from ..data.store import Store

    path = run.store(representation)
    if not path.is_file():
        candidates = sorted(run.processed.glob("*.h5"))
        if not candidates:
            raise DataError(f"{path}: store not found (create it with 'xaispec data prepare {run.processed.name}')")
        path = candidates[0]
    index = Store(path).index
    return index.drop_duplicates("speaker").set_index("speaker")["sex"].sort_index()


def test_participants(run: Run, task: ModelSpec) -> pd.DataFrame:
    """Participants in the test part of ``task``'s fold, with their sex and sample count."""
    ids = load_split(run.dir, task.label, task.fold, "test")
    from ..data.store import Store

    index = Store(run.store(task.representation)).index.set_index("sample_id")
    base = [i.split("#")[0] for i in ids]
    table = index.loc[base].groupby(["speaker", "sex"]).size().rename("samples").reset_index()
    return table.rename(columns={"speaker": "participant"}).sort_values("participant").reset_index(drop=True)


def participant_sex(run: Run, participants=None) -> pd.DataFrame:
    """Sex of the given participants (ids like ``12`` or ``"12"``; all when None).

    Raises
    ------
    ParameterError
        A participant that is not in the corpus (the valid ids are listed).
    """
    sex = _speaker_sex(run)
    if participants is None:
        wanted = list(sex.index)
    else:
        wanted = []
        for p in participants:
            text = str(p)
            if text not in sex.index and text.isdigit() and f"{int(text):02d}" in sex.index:
                text = f"{int(text):02d}"
            if text not in sex.index:
                raise ParameterError(f"participant {p!r} is not in the corpus; valid: {', '.join(sex.index)}")
            wanted.append(text)
    return pd.DataFrame({"participant": wanted, "sex": [sex[w] for w in wanted]})


#: the columns of a prediction table, in this order (those the predictions have)
PREDICTION_COLUMNS = ("sample_id", "digit", "participant", "sex", "repetition", "actual", "predicted")


def prediction_counts(table: pd.DataFrame) -> dict:
    """How many predictions there are, how many were correct (and their share) and how many wrong.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`predictions` with ``which="all"`` (a boolean ``correct`` column).

    Returns
    -------
    dict
        ``total``, ``correct``, ``wrong`` (ints) and ``share`` (correct / total; 0 when empty).
    """
    total = len(table)
    correct = int(table["correct"].sum()) if total else 0
    return {"total": total, "correct": correct, "wrong": total - correct, "share": correct / max(total, 1)}


def prediction_table(table: pd.DataFrame) -> pd.DataFrame:
    """The :data:`PREDICTION_COLUMNS` of some predictions, and the model's ``confidence``
    (its highest class probability, from the ``p_<class>`` columns) when it has them."""
    out = table[[c for c in PREDICTION_COLUMNS if c in table.columns]].copy()
    probs = [c for c in table.columns if c.startswith("p_")]
    if probs:
        out["confidence"] = table[probs].max(axis=1)
    return out


def confusion_counts(table: pd.DataFrame) -> pd.DataFrame:
    """How often each (actual, predicted) pair occurs in ``table``, the most frequent first."""
    return (table.groupby(["actual", "predicted"]).size().rename("count").reset_index()
            .sort_values("count", ascending=False))


def accuracy_by_participant(table: pd.DataFrame) -> pd.DataFrame:
    """Per participant (and sex): the test ``recordings`` and the share predicted correctly
    (``accuracy``), from :func:`predictions` with ``which="all"``."""
    return (table.groupby(["participant", "sex"])["correct"].agg(["size", "mean"]).reset_index()
            .rename(columns={"size": "recordings", "mean": "accuracy"}))
