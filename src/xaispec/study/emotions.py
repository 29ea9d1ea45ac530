"""The emotion chapter's analyses of a run: the study's leaky random split, the same split with each
recording's copies kept together, and actor-disjoint folds (scores, the two leaks' gaps and what
they say), their training curves and confusion
matrices, the SHAP figures of each protocol's model, and the mel bands each model ranks highest."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..figures.paths import method_name
from ..figures.shap import mel_feature_names
from ..models.evaluate import DISJOINT_PROTOCOL, GROUPED_PROTOCOL, RANDOM_PROTOCOL, fold_scores, protocol_scores
from ..models.runs import Run, ModelSpec
from .pictures import feature_plot_folder
from .results import result_paths

#: the emotion chapter's models read the 128 mel bands with a 1D CNN
EMOTION_MODEL = "cnn1d"
#: how many of the most important mel bands the chapter ranks
TOP_BANDS = 10
#: the SHAP figures of a protocol's model over all classes: file stem and what it shows
MEAN_FIGURES = (("summary_mean", "summary (beeswarm) of the mean |SHAP value| over classes"),
                ("bar_mean", "mean |SHAP value| of the top bands, stacked by class"))
#: the SHAP figures of one class: file stem prefix and what it is
CLASS_FIGURES = (("summary", "beeswarm"), ("bar", "bar plot"))


def protocol_tasks(folds) -> dict[str, ModelSpec]:
    """The two protocols' CNN1D models, by the name the chapter gives them: the study's
    random split first, then the first of the actor-disjoint ``folds``."""
    return {"study: random 75/25 split (leaky)": ModelSpec("emotion", "random", EMOTION_MODEL),
            f"actor-disjoint, fold {folds[0]}": ModelSpec("emotion", folds[0], EMOTION_MODEL)}


def protocol_table(run: Run, folds, models) -> pd.DataFrame:
    """Test scores of the emotion models under the three protocols, the mean over folds.

    Parameters
    ----------
    run : Run
    folds : list
        The actor-disjoint folds.
    models : list of str
        The emotion models; the CNN1D is scored under every protocol evaluated (the grouped
        split only when its model was), every other model on those of ``folds`` it was
        evaluated on (it is left out when it has none).

    Returns
    -------
    pandas.DataFrame
        One row per protocol and model: ``protocol``, ``model``, ``folds``, ``test rows``,
        ``accuracy``, ``balanced_accuracy``, ``f1_weighted``.
    """
    def row(protocol: str, model: str, s: dict) -> dict:
        return {"protocol": protocol, "model": model.upper(), "folds": s["folds"], "test rows": s["test_samples"],
                "accuracy": s["accuracy"], "balanced_accuracy": s["balanced_accuracy"], "f1_weighted": s["f1_weighted"]}

    def disjoint(fs: list) -> str:
        return f"{DISJOINT_PROTOCOL} {', '.join(map(str, fs))}"

    rows = [row(disjoint(folds) if name == DISJOINT_PROTOCOL else name, EMOTION_MODEL, s)
            for name, s in protocol_scores(run, list(folds)).items()]
    for model in models:
        if model == EMOTION_MODEL:
            continue
        done = [f for f in folds if run.evaluation_path(ModelSpec("emotion", f, model)).is_file()]
        if done:
            rows.append(row(disjoint(done), model, fold_scores(run, "emotion", model, done)))
    return pd.DataFrame(rows)


def leakage_verdict(copy_gap: float, speaker_gap: float) -> str:
    """What the two leaks' gaps say (a sentence or two, plain text); NaN for a gap not measured."""
    parts = []
    for gap, what in ((copy_gap, "copies of the same recording on both sides of the split"),
                      (speaker_gap, "the same actors in training and test")):
        if np.isfinite(gap):
            parts.append(f"{what} {'add' if gap > 0 else 'do not add'} accuracy ({gap:+.1%})")
    if not parts:
        return ""
    text = "Taken apart: " + "; ".join(parts) + "."
    if all(not np.isfinite(g) or g <= 0 for g in (copy_gap, speaker_gap)):
        text += (" With this profile's short training the models have not learnt enough to profit from the leaks "
                 "(the study reported 77% with its random split).")
    else:
        text += " The study reported 77% with its random split."
    return text


def leakage_facts(run: Run, folds) -> dict:
    """The numbers and verdict of the chapter's sentences on the leaks (CNN1D models).

    Returns
    -------
    dict
        ``random_accuracy`` (the study's random split), ``grouped_accuracy`` (the same split with
        each recording's copies on one side; NaN without its model), ``disjoint_accuracy`` (the
        mean over the actor-disjoint ``folds``), ``leakage_gap`` (study - actor-disjoint),
        ``copy_gap`` (study - grouped), ``speaker_gap`` (grouped - actor-disjoint),
        ``leakage_verdict`` (:func:`leakage_verdict`) and ``chance`` (one over the number of
        emotion classes of the corpus).
    """
    scores = protocol_scores(run, list(folds))
    leaky, disjoint = scores[RANDOM_PROTOCOL]["accuracy"], scores[DISJOINT_PROTOCOL]["accuracy"]
    grouped = scores[GROUPED_PROTOCOL]["accuracy"] if GROUPED_PROTOCOL in scores else float("nan")
    copy_gap, speaker_gap = leaky - grouped, grouped - disjoint
    return {"random_accuracy": leaky, "grouped_accuracy": grouped, "disjoint_accuracy": disjoint,
            "leakage_gap": leaky - disjoint, "copy_gap": copy_gap, "speaker_gap": speaker_gap,
            "leakage_verdict": leakage_verdict(copy_gap, speaker_gap),
            "chance": 1.0 / len(run.store_classes("emotion", "mel128"))}


def protocol_figures(run: Run, protocols: dict[str, ModelSpec]) -> list[tuple]:
    """Each protocol's accuracy per epoch and confusion matrix, as ``(figure, caption, name)``
    for :meth:`xaispec.book.Page.gallery`."""
    from ..figures.training import confusion, curve

    items = []
    for protocol, t in protocols.items():
        history = pd.read_csv(run.history_path(t, "csv"))
        note = (" (the random split validates on its test rows, as the study did)" if t.fold == "random"
                else " (validated on other actors)")
        items.append((curve(history, "accuracy", title=protocol),
                      f"Training and validation accuracy per epoch, {protocol}{note}.", f"acc-{t.fold}"))
        matrix = pd.read_csv(run.confusion_path(t), index_col=0)
        items.append((confusion(matrix, title=protocol),
                      f"Confusion matrix, {protocol} (rows actual, columns predicted).", f"confusion-{t.fold}"))
    return items


def _figures(run: Run, task: ModelSpec, method: str, figures, caption) -> list[tuple[Path, str, str]]:
    folder = feature_plot_folder(run, task, method)
    return [(folder / f"{stem}.png", caption(what), f"{stem}-{task.fold}")
            for stem, what in figures if (folder / f"{stem}.png").is_file()]


def mean_shap_figures(run: Run, protocols: dict[str, ModelSpec], method: str) -> list[tuple]:
    """The SHAP summary and bar plots over all classes of each protocol's model (those drawn),
    as ``(path, caption, name)`` for :meth:`xaispec.book.Page.gallery`."""
    name = method_name(method)
    items = []
    for protocol, t in protocols.items():
        items += _figures(run, t, method, MEAN_FIGURES, lambda what: f"{name}, {protocol}: {what}.")
    return items


def class_shap_figures(run: Run, protocols: dict[str, ModelSpec], method: str) -> dict[str, list]:
    """The SHAP beeswarm and bar plot of each class, per protocol (those drawn; a protocol
    without any is left out), as ``(path, caption, name)``."""
    name = method_name(method)
    out = {}
    for protocol, t in protocols.items():
        stems = [(f"{stem}_{c}", (what, c)) for c in t.classes for stem, what in CLASS_FIGURES]
        items = _figures(run, t, method, stems, lambda wc: f"{name} {wc[0]} for the class {wc[1]}, {protocol}.")
        if items:
            out[protocol] = items
    return out


def band_importance(maps: np.ndarray, values=None) -> np.ndarray:
    """Mean |SHAP value| of each mel band.

    Parameters
    ----------
    maps : np.ndarray, shape (n, bands)
        The explained class's values of each sample.
    values : np.ndarray, shape (n, bands, classes), optional
        The values for every class; when given, the mean is over samples and classes.
    """
    if isinstance(values, np.ndarray) and values.ndim == 3:
        return np.abs(values).mean(axis=(0, 2))
    return np.abs(maps).mean(axis=0)


def top_bands(importance: np.ndarray, n: int = TOP_BANDS) -> list[int]:
    """The ``n`` bands of highest ``importance``, the highest first (ties: the lower band)."""
    return [int(b) for b in np.argsort(-np.asarray(importance), kind="stable")[:n]]


def protocol_top_bands(run: Run, protocols: dict[str, ModelSpec], method: str, n: int = TOP_BANDS) -> dict[str, list]:
    """The :func:`top_bands` of each protocol's model under ``method``, from its explanations."""
    from ..explain import Explanation

    tops = {}
    for protocol, t in protocols.items():
        expl = Explanation.load(result_paths(run, t, method)[1])
        tops[protocol] = top_bands(band_importance(expl.maps, expl.extra.get("values")), n)
    return tops


def band_ranking(tops: dict[str, list]) -> pd.DataFrame:
    """The ranked bands side by side: a ``rank`` column (1 first), then one column per protocol
    (``mel 12, 323 Hz``)."""
    n = max((len(v) for v in tops.values()), default=0)
    names = mel_feature_names()
    table = pd.DataFrame({p: [names[b] for b in v] for p, v in tops.items()}, index=pd.RangeIndex(1, n + 1, name="rank"))
    return table.reset_index()


def shared_bands(tops: dict[str, list]) -> int:
    """How many bands are among the top bands of every protocol."""
    sets = [set(v) for v in tops.values()]
    return len(set.intersection(*sets)) if sets else 0
