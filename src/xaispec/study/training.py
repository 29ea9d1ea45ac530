"""What a run's training produced, as the training and reproducibility chapters show it: the
settings recorded with the models, learning curves, test metrics per fold and their mean
beside the published result, confusion matrices, and the trained models of a book."""
from __future__ import annotations

import json

import pandas as pd

from ..models.runs import Run, ModelSpec

#: the test metrics the training chapter shows per fold, in this order (those evaluated)
FOLD_METRICS = ("fold", "test_samples", "accuracy", "balanced_accuracy", "precision_weighted", "recall_weighted",
                "f1_weighted", "cohen_kappa", "roc_auc_ovr_macro", "roc_auc_classes")
#: the epochs of the AudioMNIST study
STUDY_EPOCHS = 100
#: the AudioMNIST paper's test accuracies, mean and standard deviation over folds, per network and
#: label (Becker et al., table 1; the gender values are as published, not checked against its code)
PAPER_ACCURACY = {("alexnet", "digit"): (0.9582, 0.0149), ("alexnet", "gender"): (0.9587, 0.0285),
                  ("audionet", "digit"): (0.9253, 0.0204), ("audionet", "gender"): (0.9174, 0.0860)}
#: each network's name and input, as the training page names them
NETWORKS = {"alexnet": ("AlexNet", "227 x 227 dB spectrogram"), "audionet": ("AudioNet", "8,000-sample waveform")}


def fold_tasks(label: str, folds, model: str = "alexnet") -> list[ModelSpec]:
    """One :class:`~xaispec.models.runs.ModelSpec` per fold of ``label``."""
    return [ModelSpec(label, f, model) for f in folds]


def read_sidecars(run: Run, tasks: list[ModelSpec]) -> list[dict]:
    """The JSON records written beside the models of ``tasks`` (settings, precision, timing)."""
    return [json.loads(run.model_path(t).with_suffix(".json").read_text()) for t in tasks]


def training_facts(sidecars: list[dict], folds) -> dict:
    """The numbers and words the training chapter states about its models' training.

    Parameters
    ----------
    sidecars : list of dict
        :func:`read_sidecars`; the first one's settings are stated.
    folds : list
        The folds trained.

    Returns
    -------
    dict
        ``n_models``, ``fold_list`` ("0, 1"), ``epochs``, ``learning_rate``, ``batch_size``,
        ``scaling``, ``precision``, ``precision_reason`` and ``study_comparison``: how the
        epochs compare with the study's (a clause ending the sentence).
    """
    first = sidecars[0]
    s = first["settings"]
    return {"n_models": len(sidecars), "fold_list": ", ".join(map(str, folds)), "epochs": s["epochs"],
            "learning_rate": s["learning_rate"], "batch_size": s["batch_size"], "scaling": s["scaling"],
            "precision": first["precision_policy"],
            "precision_reason": first.get("precision_reason", "reason not recorded"),
            "study_comparison": (f"the study trained {STUDY_EPOCHS} epochs with dB/255 inputs."
                                 if s["epochs"] < STUDY_EPOCHS else "as the study.")}


def sigmoid_note(label: str, sidecars: list[dict]) -> str:
    """The note on the study's sigmoid output of its sex model (a MyST ``note``) for the
    ``gender`` label, saying whether this book reproduces it; ``""`` for other labels."""
    if label != "gender":
        return ""
    on = sidecars[0]["settings"].get("study_sigmoid")
    return ("```{note}\nThe study gave its two-class sex model a **sigmoid** output layer trained with sparse "
            "categorical cross-entropy, a flaw: two independent sigmoids are not a probability distribution over "
            "the two classes. This book uses softmax"
            + (" (the study's sigmoid is used here: `train.study_sigmoid` is on)." if on else
               "; set `train.study_sigmoid: true` in a profile to reproduce the flaw.") + "\n```")


def _net(t: ModelSpec) -> str:   # the network named in titles, except the chapter's AlexNet
    return "" if t.model == "alexnet" else f"{NETWORKS.get(t.model, (t.model,))[0]}, "


def _prefix(t: ModelSpec) -> str:   # figure names unique on a page showing two networks
    return "" if t.model == "alexnet" else f"{t.model}-"


def curve_figures(run: Run, tasks: list[ModelSpec]) -> list[tuple]:
    """Loss and accuracy per epoch of each task's model, training beside validation, as
    ``(figure, caption, name)`` for :meth:`xaispec.book.Page.gallery`."""
    from ..figures.training import curve

    items = []
    for t in tasks:
        history = pd.read_csv(run.history_path(t, "csv"))
        for kind in ("loss", "accuracy"):
            items.append((curve(history, kind, title=f"{_net(t)}fold {t.fold}: {kind}"),
                          f"Training and validation {kind} per epoch, {_net(t)}{t.label} fold {t.fold}.",
                          f"{_prefix(t)}{kind}-{t.fold}"))
    return items


def per_fold_metrics(run: Run, tasks: list[ModelSpec]) -> pd.DataFrame:
    """The test metrics of each task's model, one row per fold (the :data:`FOLD_METRICS` evaluated)."""
    table = pd.concat([pd.read_csv(run.evaluation_path(t)).assign(fold=t.fold) for t in tasks], ignore_index=True)
    return table[[c for c in FOLD_METRICS if c in table.columns]]


def mean_metrics(run: Run, label: str, model: str = "alexnet") -> pd.DataFrame:
    """The metrics' ``mean`` and ``std`` over the label's folds (rows), as evaluated."""
    return pd.read_csv(run.mean_paths(label, model)["evaluation"], index_col=0)


def published_comparison(mean: pd.DataFrame, n_folds: int, profile: str, published: float) -> pd.DataFrame:
    """This book's mean accuracy (and its standard deviation) beside the published one.

    Parameters
    ----------
    mean : pandas.DataFrame
        :func:`mean_metrics`.
    n_folds : int
    profile : str
        The profile's name.
    published : float
        The AudioMNIST paper's AlexNet accuracy for the label.
    """
    sd = mean.loc["std", "accuracy"]
    return pd.DataFrame([
        {"result": f"this book ({n_folds} fold(s), {profile} profile)", "accuracy": mean.loc["mean", "accuracy"],
         "std": "" if pd.isna(sd) else f"{sd:.3f}", "balanced_accuracy": mean.loc["mean", "balanced_accuracy"]},
        {"result": "AudioMNIST paper, AlexNet (mean over folds)", "accuracy": published, "std": "",
         "balanced_accuracy": ""},
    ])


def accuracy_facts(mean: pd.DataFrame, n_folds: int, profile: str, published: float) -> dict:
    """The numbers and verdict of the sentence on the mean accuracy.

    Returns
    -------
    dict
        ``mean_accuracy`` and ``published_accuracy`` (floats), ``accuracy_sd`` (``" +- 1.2%"``,
        or ``""`` for one fold), ``n_folds`` and ``published_comparison``: the clause ending
        the sentence (a run at another profile than ``full`` is not expected to match).
    """
    sd = mean.loc["std", "accuracy"]
    return {"mean_accuracy": float(mean.loc["mean", "accuracy"]), "accuracy_sd": "" if pd.isna(sd) else f" +- {sd:.1%}",
            "n_folds": n_folds, "published_accuracy": float(published),
            "published_comparison": (", so a short run on synthetic voices is not expected to match it."
                                     if profile != "full" else ".")}


#: the optimizers' names in sentences
OPTIMIZER_NAMES = {"sgd": "SGD", "sgd_momentum": "SGD with momentum 0.9", "adam": "Adam"}


def audionet_text(sidecar: dict) -> str:
    """How the AudioNet models were trained, beside the paper's solver (one paragraph)."""
    s = sidecar["settings"]
    opt = s["optimizer"]
    paper = (s["epochs"], opt, s["learning_rate"], s["batch_size"]) == (280, "sgd_momentum", 0.0001, 100)
    return (f"AudioNet, the AudioMNIST paper's network on the raw 8 kHz waveform of the same second (each waveform "
            f"divided by its own 95th percentile plus 0.001, as the paper's code does): {s['epochs']} epoch(s) of "
            f"{OPTIMIZER_NAMES.get(opt, opt)} with learning rate {s['learning_rate']}, batch {s['batch_size']}, "
            f"precision {sidecar['precision_policy']}; "
            + ("the paper's solver (SGD with momentum 0.9, learning rate 0.0001, batch 100, 50,000 iterations)."
               if paper else "the paper trained 50,000 iterations of SGD with momentum 0.9, learning rate 0.0001, "
                             "batch 100: this profile departs from it to learn in minutes on a CPU."))


def networks_table(run: Run, label: str, models: list[str], n_folds: int, profile: str) -> pd.DataFrame:
    """Each network's mean test accuracy over the label's folds beside the AudioMNIST paper's.

    Parameters
    ----------
    run : Run
    label : str
    models : list of str
        ``alexnet``, ``audionet``: those with a summary.
    n_folds : int
    profile : str
        The profile's name.

    Returns
    -------
    pandas.DataFrame
        One row per network: its input, this book's mean accuracy and standard deviation, balanced
        accuracy, and the paper's mean and standard deviation (real recordings, all folds).
    """
    rows = []
    for model in models:
        path = run.mean_paths(label, model)["evaluation"]
        if not path.is_file():
            continue
        mean = pd.read_csv(path, index_col=0)
        sd = mean.loc["std", "accuracy"]
        paper = PAPER_ACCURACY.get((model, label), (float("nan"), float("nan")))
        name, what = NETWORKS.get(model, (model, ""))
        rows.append({"network": name, "input": what,
                     f"accuracy, this book ({n_folds} fold(s), {profile})": mean.loc["mean", "accuracy"],
                     "std": "" if pd.isna(sd) else f"{sd:.4f}", "balanced_accuracy": mean.loc["mean", "balanced_accuracy"],
                     "accuracy, paper": paper[0], "std, paper": f"{paper[1]:.4f}"})
    return pd.DataFrame(rows)


def networks_facts(table: pd.DataFrame, profile: str) -> dict:
    """The sentence comparing the networks: ``networks_verdict`` (which one is more accurate here,
    and whether that is the paper's order), from :func:`networks_table`."""
    if len(table) < 2:
        return {"networks_verdict": "Only one network was trained for this label."}
    here = table.columns[2]
    best = table.loc[table[here].idxmax()]
    paper_best = table.loc[table["accuracy, paper"].idxmax()]
    gap = float(table[here].max() - table[here].min())
    same = best["network"] == paper_best["network"]
    return {"networks_verdict": (f"Here {best['network']} is the more accurate network by {gap:.1%} of the test samples; "
                                 f"the paper found {paper_best['network']} more accurate"
                                 + (", the same order." if same else ", the other order.")
                                 + (" Short runs on synthetic voices say little about the full study's order."
                                    if profile != "full" else ""))}


def confusion_figures(run: Run, tasks: list[ModelSpec], model: str = "alexnet") -> list[tuple]:
    """Each task's confusion matrix (counts) and the mean over folds (% of each actual class),
    as ``(figure, caption, name)`` for :meth:`xaispec.book.Page.gallery`."""
    from ..figures.training import confusion

    items = []
    for t in tasks:
        matrix = pd.read_csv(run.confusion_path(t), index_col=0)
        items.append((confusion(matrix, title=f"{_net(t)}fold {t.fold}"),
                      f"Confusion matrix of {_net(t)}{t.label} fold {t.fold} (rows actual, columns predicted; counts).",
                      f"{_prefix(t)}confusion-{t.fold}"))
    pct = pd.read_csv(run.mean_paths(tasks[0].label, model)["confusion_percent"], index_col=0)
    items.append((confusion(pct, title=f"{_net(tasks[0])}mean over folds, % of row", percent=True),
                  f"Mean confusion matrix {_net(tasks[0]).replace(', ', ' ')}over {len(tasks)} fold(s), as a percentage of each actual class.",
                  f"{_prefix(tasks[0])}confusion-mean"))
    return items


def trained_models(runs: dict[str, Run]) -> pd.DataFrame:
    """Every trained model of ``runs`` (corpus name -> run): its corpus, name, epochs trained,
    seconds, the precision it was trained in and why, and the start of its file's SHA-256."""
    rows = []
    for name, run in runs.items():
        if run is None or not (run.dir / "models").is_dir():
            continue
        for sidecar in sorted((run.dir / "models").glob("*.json")):
            if sidecar.name.endswith(".scaling.json"):
                continue
            info = json.loads(sidecar.read_text())
            rows.append({"corpus": name, "model": info.get("task"), "epochs": info.get("epochs_trained"),
                         "seconds": info.get("seconds"), "precision": info.get("precision_policy"),
                         "why": info.get("precision_reason", ""), "sha256": str(info.get("model_sha256", ""))[:16]})
    return pd.DataFrame(rows)
