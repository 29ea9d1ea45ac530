"""Evaluation of trained models on their test folds: predictions, metrics, confusion matrices,
and the per-label means over folds, under the study's file names."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .._io import write_text_atomic
from ..errors import DataError
from ..events import EventLog
from .runs import Run, ModelSpec

METRICS = ("accuracy", "balanced_accuracy", "precision_weighted", "recall_weighted", "f1_weighted",
           "cohen_kappa", "roc_auc_ovr_macro")


def metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, *, n_classes: int) -> dict:
    """The study's metrics plus F1 and macro one-vs-rest ROC-AUC.

    Parameters
    ----------
    y_true, y_pred : np.ndarray, shape (n,)
    proba : np.ndarray, shape (n, n_classes)
        Class probabilities (rows need not sum exactly to 1).

    Returns
    -------
    dict
        ``roc_auc_ovr_macro`` averages the one-vs-rest AUC over the classes the test set holds
        (a class without test samples has no AUC), and ``roc_auc_classes`` says over how many;
        NaN when fewer than two classes are present.
    """
    from sklearn import metrics as m

    labels = list(range(n_classes))
    out = {
        "accuracy": m.accuracy_score(y_true, y_pred),
        "balanced_accuracy": m.balanced_accuracy_score(y_true, y_pred),
        "precision_weighted": m.precision_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0),
        "recall_weighted": m.recall_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0),
        "f1_weighted": m.f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0),
        "cohen_kappa": m.cohen_kappa_score(y_true, y_pred, labels=labels),
    }
    present = np.unique(y_true)
    out["roc_auc_classes"] = len(present) if len(present) >= 2 else 0
    if len(present) < 2:
        out["roc_auc_ovr_macro"] = float("nan")
    elif len(present) < n_classes:   # one-vs-rest over the classes present, each on normalised probabilities
        p = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
        out["roc_auc_ovr_macro"] = float(np.mean([m.roc_auc_score(y_true == c, p[:, c]) for c in present]))
    elif n_classes == 2:
        out["roc_auc_ovr_macro"] = m.roc_auc_score(y_true, proba[:, 1])
    else:
        p = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
        out["roc_auc_ovr_macro"] = m.roc_auc_score(y_true, p, multi_class="ovr", average="macro", labels=labels)
    return {k: float(v) for k, v in out.items()}


def confusion(y_true, y_pred, names: list[str]) -> pd.DataFrame:
    """Confusion matrix, rows actual and columns predicted, labelled with class names."""
    from sklearn.metrics import confusion_matrix

    mat = confusion_matrix(y_true, y_pred, labels=list(range(len(names))))
    return pd.DataFrame(mat, index=pd.Index(names, name="actual"), columns=pd.Index(names, name="predicted"))


def predict(run: Run, task: ModelSpec, *, batch_size: int = 64):
    """Test-fold predictions of a trained model: (test part, probabilities (n, n_classes))."""
    from ..data.store import Store
    from .datasets import BatchReader, dataset, load_parts, load_scaling
    from .loading import load_model

    model = load_model(run, task)
    store = Store(run.store(task.representation))
    test = load_parts(run, task, store)["test"]
    reader = BatchReader(store.path)
    try:
        proba = model.predict(dataset(reader, test, load_scaling(run, task), batch_size=batch_size), verbose=0)
    finally:
        reader.close()
    proba = np.asarray(proba, dtype=np.float64)
    if not np.isfinite(proba).all():
        bad = int((~np.isfinite(proba)).any(axis=1).sum())
        raise DataError(f"{run.model_path(task)}: the model outputs NaN or infinite probabilities for {bad} of "
                        f"{len(proba)} test rows (its training diverged: train it again with a lower learning rate)")
    return store, test, proba


def evaluate(run: Run, task: ModelSpec) -> dict:
    """Write the predictions, evaluation and confusion-matrix files of one model.

    Returns
    -------
    dict
        The metrics.
    """
    store, test, proba = predict(run, task)
    names = task.classes
    y_pred = proba.argmax(axis=1)
    base = [i.split("#")[0] for i in test.ids]
    info = store.index.set_index("sample_id").loc[base].reset_index()
    table = pd.DataFrame({"sample_id": test.ids})
    if "digit" in info.columns:
        table["digit"] = info["digit"].to_numpy()
    table["participant"] = info["speaker"].to_numpy()
    table["sex"] = info["sex"].to_numpy()
    table["repetition"] = info["repetition"].to_numpy()
    for col in ("emotion", "intensity", "statement"):
        if col in info.columns and col != task.label:
            table[col] = info[col].to_numpy()
    table["actual"] = [names[i] for i in test.y]
    table["predicted"] = [names[i] for i in y_pred]
    table["correct"] = test.y == y_pred
    for k, name in enumerate(names):
        table[f"p_{name}"] = proba[:, k]
    scores = metrics(test.y, y_pred, proba, n_classes=len(names))
    write_text_atomic(run.predictions_path(task), table.to_csv(index=False))
    write_text_atomic(run.evaluation_path(task), pd.DataFrame([{"model": task.name, "test_samples": len(test),
                                                                 **scores}]).to_csv(index=False))
    matrix = confusion(test.y, y_pred, names)
    write_text_atomic(run.confusion_path(task), matrix.to_csv())
    write_text_atomic(run.report_path(task), classification_report(test.y, y_pred, names).to_csv())
    from ..figures import training as plots_training

    plots_training.confusion(matrix, title=f"{task.name}: confusion matrix", path=run.plot_path(task, "confusion"))
    EventLog(run.dir)("evaluate_done", task=task.name, forward=len(test), **scores)
    return scores


def classification_report(y_true, y_pred, names: list[str]) -> pd.DataFrame:
    """Per-class precision, recall, F1 and support, plus averages (sklearn's report as a table)."""
    from sklearn.metrics import classification_report as report

    table = pd.DataFrame(report(y_true, y_pred, labels=list(range(len(names))), target_names=names,
                                output_dict=True, zero_division=0)).T
    table.index.name = "class"
    return table


#: the scores :func:`fold_scores` averages over folds
PROTOCOL_METRICS = ("accuracy", "balanced_accuracy", "f1_weighted")
#: the emotion study's protocols, as :func:`compare_protocols` names them
RANDOM_PROTOCOL = "random 75/25 split of augmented rows (the study's: copies and actors leak)"
GROUPED_PROTOCOL = "random 75/25 split, each recording and its copy on one side (actors leak)"
DISJOINT_PROTOCOL = "actor-disjoint folds"
#: the gaps between the protocols, each the cost of one leak
GAPS = (("gap: the copy leak (study - grouped)", RANDOM_PROTOCOL, GROUPED_PROTOCOL),
        ("gap: the speaker leak (grouped - actor-disjoint)", GROUPED_PROTOCOL, DISJOINT_PROTOCOL),
        ("gap: both leaks (study - actor-disjoint)", RANDOM_PROTOCOL, DISJOINT_PROTOCOL))


def fold_scores(run: Run, label: str, model: str, folds: list) -> dict:
    """The test scores of one label's models on ``folds``, read from their evaluation files.

    Parameters
    ----------
    run : Run
    label, model : str
    folds : list
        Fold numbers, or ``["random"]`` for the emotion study's random split.

    Returns
    -------
    dict
        ``folds`` (how many), ``test_samples`` (summed over the folds) and the mean of each of
        :data:`PROTOCOL_METRICS`.

    Raises
    ------
    DataError
        A fold was not evaluated.
    """
    scores = []
    for fold in folds:
        path = run.evaluation_path(ModelSpec(label, fold, model))
        if not path.is_file():
            raise DataError(f"{path}: evaluation not found (run 'xaispec evaluate --label {label} --fold {fold}')")
        scores.append(pd.read_csv(path).iloc[0])
    frame = pd.DataFrame(scores)
    return {"folds": len(folds), "test_samples": int(frame["test_samples"].sum()),
            **{m: float(frame[m].mean()) for m in PROTOCOL_METRICS}}


def protocol_scores(run: Run, folds: list) -> dict[str, dict]:
    """The 1D CNN's :func:`fold_scores` under each emotion protocol evaluated, by protocol name:
    the study's random split, the grouped split (when its model was evaluated) and the
    actor-disjoint ``folds`` (the numbered ones)."""
    from ..data.splits import PROTOCOLS

    scores = {RANDOM_PROTOCOL: fold_scores(run, "emotion", "cnn1d", ["random"])}
    if run.evaluation_path(ModelSpec("emotion", "grouped", "cnn1d")).is_file():
        scores[GROUPED_PROTOCOL] = fold_scores(run, "emotion", "cnn1d", ["grouped"])
    scores[DISJOINT_PROTOCOL] = fold_scores(run, "emotion", "cnn1d", [f for f in folds if f not in PROTOCOLS])
    return scores


def compare_protocols(run: Run, folds: list) -> pd.DataFrame:
    """The emotion study's leaky split taken apart: three protocols and the gaps between them.

    The study's random split of augmented rows leaks two ways: a recording and its noisy copy
    land on both sides, and every actor is in training and test. The grouped random split keeps
    each recording with its copy (only the actors leak); the actor-disjoint ``folds`` leak
    neither. Returns (and writes to ``evaluation/emotion_protocols.csv``) the accuracy,
    balanced accuracy and weighted F1 of each protocol, then the copy leak (study - grouped),
    the speaker leak (grouped - actor-disjoint) and both (study - actor-disjoint). A run
    without the grouped split's model has the study's and the actor-disjoint rows and the gap
    of both leaks only.
    """
    scores = protocol_scores(run, folds)
    rows = [{"protocol": name, "folds": s["folds"], **{m: s[m] for m in PROTOCOL_METRICS}} for name, s in scores.items()]
    rows += [{"protocol": gap, "folds": None, **{m: scores[a][m] - scores[b][m] for m in PROTOCOL_METRICS}}
             for gap, a, b in GAPS if a in scores and b in scores]
    table = pd.DataFrame(rows).astype({"folds": "Int64"})   # a gap has no folds
    write_text_atomic(run.dir / "evaluation" / "emotion_protocols.csv", table.to_csv(index=False))
    return table


def summarize(run: Run, label: str, model: str, folds: list) -> dict[str, pd.DataFrame]:
    """Mean and standard deviation of the metrics over ``folds``, the mean confusion matrix
    and its row-percentage version; written to the per-label mean files."""
    rows, mats = [], []
    for fold in folds:
        task = ModelSpec(label, fold, model)
        path = run.evaluation_path(task)
        if not path.is_file():
            raise DataError(f"{path}: evaluation not found (run 'xaispec evaluate --label {label} --fold {fold}')")
        rows.append(pd.read_csv(path).assign(fold=fold))
        mats.append(pd.read_csv(run.confusion_path(task), index_col=0))
    table = pd.concat(rows, ignore_index=True)
    cols = [c for c in METRICS if c in table.columns]
    spread = table[cols].std(ddof=1) if len(table) > 1 else pd.Series(np.nan, index=cols)
    summary = pd.DataFrame([table[cols].mean(), spread],
                           index=pd.Index(["mean", "std"], name="statistic"))
    summary.insert(0, "folds", len(table))
    mean_mat = sum(m.to_numpy(dtype=float) for m in mats) / len(mats)
    names = list(mats[0].index)
    mean_df = pd.DataFrame(mean_mat, index=pd.Index(names, name="actual"), columns=pd.Index(names, name="predicted"))
    sums = mean_mat.sum(axis=1, keepdims=True)
    pct = pd.DataFrame(100 * mean_mat / np.where(sums > 0, sums, 1), index=mean_df.index, columns=mean_df.columns)
    paths = run.mean_paths(label, model)
    write_text_atomic(paths["evaluation"], summary.to_csv())
    write_text_atomic(paths["confusion"], mean_df.to_csv())
    write_text_atomic(paths["confusion_percent"], pct.round(2).to_csv())
    EventLog(run.dir)("summary_done", label=label, model=model, folds=json.dumps([str(f) for f in folds]))
    return {"evaluation": summary, "confusion": mean_df, "confusion_percent": pct, "folds": table}
