"""The book: which pages it has, how they are executed (papermill) and published (Jupyter Book).

The chapter sources are ``chapters/*.ipynb``: each has a title, a cell tagged
``parameters`` and no outputs. A *page* is one chapter executed with one parameter set
into ``book/``: ``book/preface.ipynb``, ``book/training/digit.ipynb``,
``book/explanations/digit_0_lime.ipynb`` and so on. ``_toc.yml`` picks the pages up with
glob entries, so a new parameter set appears without editing it.

What a book contains is the ``book:`` section of the run profile (labels, folds,
explainers, sample counts); :class:`BookPlan` turns it into a :class:`~xaispec.workflow.graph.Graph`
of the data, training, evaluation and explanation tasks the pages need, one task per page,
and the build. ``xaispec book`` runs the whole graph, ``xaispec chapter`` the part one page
needs. The second half of this module holds the small display helpers the chapters use
(:class:`Page`: header, numbered figures with captions, sortable tables, audio players).
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .._io import write_json_atomic, write_text_atomic
from ..config import Paths, Profile, load_profile
from ..errors import DataError, ParameterError, XaispecError
from ..workflow.graph import Graph, Task, TaskResult
from ..models.runs import open_run
from ..workflow import graph as pipeline

#: the AudioMNIST paper's AlexNet test accuracy, mean over folds (Becker et al.)
PUBLISHED = {"digit": 0.958, "gender": 0.959}

#: corpus sets a book can use: ``--corpus NAME`` -> (digit corpus, emotion corpus)
CORPUS_SETS = {"synthetic": ("synthetic-digits", "synthetic-emotions"), "real": ("audiomnist", "ravdess")}

#: the SHAP estimators of the emotion chapter (the 1D CNN's 128 features)
EMOTION_EXPLAINERS = ("shap_gradient", "shap_kernel", "shap_permutation", "shap_deep")

#: one line on each method, for the pages' introductions (the survey says more)
METHOD_NOTES = {
    "gradcam": "Grad-CAM weighs the last convolution layer's channels by their mean gradient: a coarse map of "
               "the evidence for the class, positive only.",
    "gradcam++": "Grad-CAM++ weighs the channels with higher-order gradient terms, so that several separate "
                 "regions of evidence each get their share.",
    "lime": "LIME switches segments of the spectrogram off at random and fits a linear model to the answers: "
            "positive segments support the class, negative ones speak against it.",
    "integrated_gradients": "Integrated Gradients accumulates the gradient on the path from silence to the input; "
                            "the attributions add up to the score difference.",
    "smoothgrad": "SmoothGrad averages input gradients over noisy copies of the input.",
    "saliency": "The saliency map is the gradient of the class score with respect to every input cell.",
    "occlusion": "Occlusion hides one time-frequency patch at a time and records the drop in the class probability.",
    "shap_gradient": "Gradient SHAP (expected gradients) averages gradient terms between background samples and the "
                     "input: an estimate of SHAP values.",
    "shap_partition": "Partition SHAP computes Owen values over a hierarchy of blurred image regions.",
    "shap_deep": "Deep SHAP propagates differences to background samples backwards through the network "
                 "(DeepLIFT rules).",
    "shap_kernel": "Kernel SHAP fits a weighted linear regression over random coalitions of features, missing ones "
                   "filled in from a background set.",
    "shap_permutation": "Permutation SHAP adds the features one at a time in sampled orders and records each one's "
                        "marginal contribution.",
}

BOOK_STATE = "book"  # the book's run folder: data/runs/book (stamps, events.log, state)


class ChapterError(XaispecError):
    """A chapter's cell failed; the message names the page, the cell and the error."""


# ---------------------------------------------------------------- chapters

@dataclass(frozen=True)
class Chapter:
    """A chapter source and the parameters that select one of its pages."""

    name: str
    title: str
    params: tuple = ()

    @property
    def source_name(self) -> str:
        return f"{self.name}.ipynb"

    def page_title(self, params: dict) -> str:
        """The page's title: the chapter's title and its parameters, e.g.
        ``Explanations: digit, fold 0, LIME``."""
        if not params:
            return self.title
        from ..figures.spectrograms import METHOD_DIRS

        parts = []
        for key in self.params:
            value = params[key]
            if key == "fold":
                parts.append(f"fold {value}")
            elif key == "explainer":
                parts.append(METHOD_DIRS.get(str(value), str(value)))
            else:
                parts.append(corpus_label(str(value)) if key == "corpus" else str(value))
        return f"{self.title}: {', '.join(parts)}"

    def stem(self, params: dict) -> str:
        """Page path under ``book/`` without suffix: ``explanations/digit_0_lime``."""
        if not self.params:
            return self.name
        return f"{self.name}/" + "_".join(str(params[p]) for p in self.params)


CHAPTERS = {c.name: c for c in (
    Chapter("preface", "Preface"),
    Chapter("survey", "Explainable AI for spectrogram classifiers"),
    Chapter("data", "Data", ("corpus",)),
    Chapter("training", "Training and evaluation", ("label",)),
    Chapter("explanations", "Explanations", ("label", "fold", "explainer")),
    Chapter("information", "Input information", ("label", "fold")),
    Chapter("emotions", "Emotion recognition with SHAP", ("explainer",)),
    Chapter("reproducibility", "Reproducibility"),
)}


PROJECT = Path(__file__).resolve().parents[2]
#: the files that make a folder a book: copied from the project into another root when missing
FRAME = ("_config.yml", "_toc.yml", "book/references.bib", "book/favicon.svg", "book/.gitignore")


def ensure_frame(paths: Paths) -> list[Path]:
    """Copy the book's configuration and bibliography into ``paths.root`` where missing."""
    copied = []
    for rel in FRAME:
        target, source = paths.root / rel, PROJECT / rel
        if not target.exists() and source.is_file() and source.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(target)
    return copied


def chapters_dir(paths: Paths) -> Path:
    """The chapter sources: ``<root>/chapters`` when present, else the project's own."""
    own = paths.chapters
    if own.is_dir() and any(own.glob("*.ipynb")):
        return own
    return PROJECT / "chapters"


# ---------------------------------------------------------------- corpora of a book

def _detect_layout(folder: Path) -> str | None:
    if (folder / "data" / "audioMNIST_meta.txt").is_file() or (folder / "audioMNIST_meta.txt").is_file():
        return "audiomnist"
    if (folder / "recordings").is_dir():
        return "fsdd"
    if any(folder.glob("Actor_*")):
        return "ravdess"
    return None


def resolve_corpora(choices: Iterable[str] | str | None, default: str = "synthetic") -> dict[str, dict]:
    """The book's corpora: ``{"digits": {"name", "source"}, "emotions": {...}}``.

    ``choices`` (the ``--corpus`` values, applied in order over ``default``):
    ``synthetic`` (espeak-ng digits and emotions, offline), ``real`` (AudioMNIST and
    RAVDESS), a corpus name (``fsdd``, ``audiomnist``, ``ravdess``, ``synthetic-digits``,
    ``synthetic-emotions``) replacing the corpus of its kind, a manifest ``.csv`` (a digit
    corpus unless it has an ``emotion`` column), or a corpus folder in AudioMNIST, FSDD or
    RAVDESS layout (used in place).
    """
    from ..data.corpora import CORPORA

    if isinstance(choices, str):
        choices = [choices]
    out: dict[str, dict] = {}
    valid = [*CORPUS_SETS, *sorted(CORPORA), "a manifest .csv", "a corpus folder"]
    for choice in [default, *(choices or [])]:
        choice = str(choice)
        if choice in CORPUS_SETS:
            digits, emotions = CORPUS_SETS[choice]
            out["digits"] = {"name": digits, "source": None}
            out["emotions"] = {"name": emotions, "source": None}
        elif choice in CORPORA:
            out[CORPORA[choice].kind] = {"name": choice, "source": None}
        elif choice.endswith(".csv"):
            path = Path(choice).resolve()
            if not path.is_file():
                raise ParameterError(f"--corpus {choice}: manifest not found")
            header = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
            kind = "emotions" if header and "emotion" in header[0].split(",") else "digits"
            out[kind] = {"name": str(path), "source": None}
        elif Path(choice).is_dir():
            layout = _detect_layout(Path(choice))
            if layout is None:
                raise ParameterError(f"--corpus {choice}: a folder in AudioMNIST, FSDD or RAVDESS layout is expected")
            out[CORPORA[layout].kind] = {"name": layout, "source": str(Path(choice).resolve())}
        else:
            raise ParameterError(f"unknown corpus {choice!r}: use one of {', '.join(valid)}")
    return out


def corpus_label(name: str) -> str:
    """A corpus's short name for pages: ``synthetic-digits``, or a manifest's file stem."""
    return Path(name).stem if name.endswith(".csv") else name


# ---------------------------------------------------------------- the plan

def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


@dataclass
class BookPlan:
    """What a book contains and the task graph that makes it.

    Parameters
    ----------
    profile : Profile
        Its ``book:`` section says which pages and sizes.
    paths : Paths
    corpora : dict, optional
        From :func:`resolve_corpora`; default the profile's ``book.corpus``.
    rerun : bool
        Execute every page again even when it is up to date.
    """

    profile: Profile
    paths: Paths
    corpora: dict | None = None
    rerun: bool = False
    _folds_cache: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.corpora is None:
            self.corpora = resolve_corpora(None, self.profile.get("book.corpus"))
        self.book = self.profile.get("book")
        self.root = str(self.paths.root)

    # -- locations ---------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.paths.runs / BOOK_STATE

    @property
    def out_dir(self) -> Path:
        return self.paths.book

    def page_path(self, chapter: str, params: dict) -> Path:
        return self.out_dir / f"{CHAPTERS[chapter].stem(params)}.ipynb"

    def corpus(self, kind: str) -> str | None:
        entry = self.corpora.get(kind)
        return entry["name"] if entry else None

    def run(self, kind: str):
        return open_run(self.corpus(kind), self.root, self.profile)

    def reset(self) -> None:
        """Forget what was learnt about folds and labels (after the data tasks ran)."""
        self._folds_cache.clear()

    def page_kinds(self, chapter: str, params: dict) -> list[str]:
        """The corpus kinds (digits, emotions) a page needs data of."""
        if chapter in ("training", "explanations", "information"):
            return ["digits"]
        if chapter == "emotions":
            return ["emotions"]
        if chapter == "data":
            return [k for k in self.corpora if corpus_label(self.corpus(k)) == str(params.get("corpus"))]
        return []

    def data_task_ids(self, graph: Graph, kinds: list[str]) -> list[str]:
        """Ids of the data tasks (corpus, prepare, splits) of the corpora of ``kinds``."""
        from ..data.corpora import get_corpus

        names = {get_corpus(self.corpus(k)).name for k in kinds if self.corpus(k)}
        return [t for t in graph.tasks if t.split(":")[1] in names]

    # -- labels and folds --------------------------------------------------------------
    def labels(self) -> list[str]:
        """The AlexNet labels of the digit corpus that can be split (after the data phase)."""
        corpus = self.corpus("digits")
        if corpus is None:
            return []
        wanted = list(self.book["labels"])
        if not pipeline.corpus_root(corpus, self.root).exists():
            return wanted
        if ("labels",) not in self._folds_cache:
            bad = pipeline.feasible_labels(corpus, self.root, self.profile, wanted)
            self._folds_cache[("labels",)] = [lab for lab in wanted if lab not in bad]
        return self._folds_cache[("labels",)]

    def all_folds(self, kind: str, label: str) -> list:
        """Every fold of ``label`` the splits have (predicted before they exist)."""
        key = (kind, label)
        if key in self._folds_cache:
            return self._folds_cache[key]
        run = self.run(kind)
        folds = run.folds(label) if (run.dir / "splits").is_dir() else []
        if not folds:
            corpus = self.corpus(kind)
            n = self.profile.get("splits.n_folds")
            if corpus in ("audiomnist", "synthetic-digits") and label != "emotion" and \
                    (corpus == "audiomnist" or self.profile.get("synthetic.digits.participants") == 60):
                n = 5 if label == "digit" else 4
            folds = list(range(n)) + (["random"] if label == "emotion" else [])
        self._folds_cache[key] = folds
        return folds

    def folds(self, label: str) -> list[int]:
        """The profile's folds of an AlexNet label that exist."""
        have = self.all_folds("digits", label)
        return [f for f in self.book["folds"] if f in have]

    def explain_folds(self, label: str) -> list[int]:
        have = self.all_folds("digits", label)
        return [f for f in self.book["explain_folds"] if f in have]

    def emotion_folds(self) -> list:
        have = self.all_folds("emotions", "emotion")
        return [f for f in self.book["emotion_folds"] if f in have]

    def explainers(self, model: str = "alexnet") -> list[str]:
        return list(self.book["explainers"] if model == "alexnet" else self.book["emotion_explainers"])

    @staticmethod
    def valid_explainers(model: str) -> list[str]:
        """Explanation methods the book runs on ``model``: for AlexNet every method but the two
        that need thousands of model calls per input cell group (Kernel and Permutation SHAP on
        51,529 cells); for the emotion 1D CNN the SHAP estimators."""
        from ..explain import METHODS

        if model == "cnn1d":
            return [m for m in EMOTION_EXPLAINERS if m in METHODS]
        return [m for m in METHODS if m not in ("shap_kernel", "shap_permutation")]

    # -- pages -------------------------------------------------------------------------
    def pages(self) -> list[tuple[str, dict]]:
        """Every (chapter, parameters) of the book, in reading order."""
        pages: list[tuple[str, dict]] = [("preface", {}), ("survey", {})]
        for kind in ("digits", "emotions"):
            if self.corpus(kind):
                pages.append(("data", {"corpus": corpus_label(self.corpus(kind))}))
        labels = self.labels()
        for label in labels:
            if self.folds(label):
                pages.append(("training", {"label": label}))
        for label in labels:
            for fold in self.explain_folds(label):
                for method in self.explainers("alexnet"):
                    pages.append(("explanations", {"label": label, "fold": fold, "explainer": method}))
        for label in labels:
            for fold in self.explain_folds(label):
                pages.append(("information", {"label": label, "fold": fold}))
        if self.corpus("emotions") and self.emotion_folds():
            for method in self.explainers("cnn1d"):
                pages.append(("emotions", {"explainer": method}))
        pages.append(("reproducibility", {}))
        for extra in self.extra_pages():
            if extra not in pages:
                pages.insert(-1, extra)
        return pages

    def extra_pages(self) -> list[tuple[str, dict]]:
        """Pages added with ``xaispec chapter`` that are still valid for this book."""
        path = self.state_dir / "extra_pages.json"
        if not path.is_file():
            return []
        out = []
        for entry in json.loads(path.read_text(encoding="utf-8")):
            try:
                out.append((entry["chapter"], self.validate(entry["chapter"], entry["params"])))
            except (XaispecError, KeyError):
                continue
        return out

    def remember(self, chapter: str, params: dict) -> None:
        path = self.state_dir / "extra_pages.json"
        entries = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        entry = {"chapter": chapter, "params": _jsonable(params)}
        if entry not in entries:
            entries.append(entry)
            write_json_atomic(path, entries)

    def validate(self, chapter: str, params: dict) -> dict:
        """Check a page's parameters; fill the missing ones from the profile.

        Raises
        ------
        ParameterError
            An unknown chapter or parameter, or a value that is not valid here; the message
            lists the valid ones.
        """
        if chapter not in CHAPTERS:
            raise ParameterError(f"unknown chapter {chapter!r}; valid chapters: {', '.join(CHAPTERS)}")
        spec = CHAPTERS[chapter]
        unknown = sorted(set(params) - set(spec.params))
        if unknown:
            valid = ", ".join(spec.params) or "none"
            raise ParameterError(f"chapter {chapter!r} has no parameter {unknown[0]!r}; valid parameters: {valid}")
        out: dict[str, Any] = {}

        def pick(name, valid: list, default=None):
            valid_text = [str(v) for v in valid]
            if name in params:
                text = str(params[name])
                if text not in valid_text:
                    what = f" for {out['label']}" if "label" in out and name == "fold" else ""
                    raise ParameterError(f"{chapter}: {name} {text!r} is not valid{what}; valid values: "
                                         f"{', '.join(valid_text) or 'none'}")
                value = valid[valid_text.index(text)]
            else:
                if default is None and not valid:
                    raise ParameterError(f"{chapter}: no valid value of {name} in this book")
                value = default if default is not None else valid[0]
            out[name] = value
            return value

        if chapter == "data":
            names = [corpus_label(self.corpus(k)) for k in ("digits", "emotions") if self.corpus(k)]
            pick("corpus", names)
        elif chapter in ("training", "explanations", "information"):
            labels = self.labels()
            label = pick("label", labels)
            if chapter != "training":
                folds = [f for f in self.all_folds("digits", label) if f != "random"]
                default = self.explain_folds(label)[0] if self.explain_folds(label) else None
                pick("fold", folds, default)
            if chapter == "explanations":
                pick("explainer", self.valid_explainers("alexnet"), (self.explainers("alexnet") or [None])[0])
        elif chapter == "emotions":
            pick("explainer", self.valid_explainers("cnn1d"), (self.explainers("cnn1d") or [None])[0])
        return out

    # -- tasks -------------------------------------------------------------------------
    def _common(self, corpus: str) -> dict:
        return {"corpus": corpus, "root": self.root, "profile": self.profile}

    def data_tasks(self, graph: Graph) -> None:
        from ..data.corpora import LABELS, get_corpus

        for kind, entry in self.corpora.items():
            corpus = entry["name"]
            spec = get_corpus(corpus)
            prof = self.profile
            cfg_corpus = {"source": entry["source"], "synthetic": prof.get(f"synthetic.{kind}")
                          if spec.name.startswith("synthetic-") else None, "seed": prof.get("seed")}
            root_dir = pipeline.corpus_root(corpus, self.root)
            graph.add(Task(f"corpus:{spec.name}", pipeline.step_corpus,
                           dict(self._common(corpus), source=entry["source"]),
                           outputs=(str(root_dir),), config=cfg_corpus))
            reps = ["alexnet"] if kind == "digits" else \
                sorted({"mel128"} | {self._model_rep(m) for m in self.book["emotion_models"]})
            prep_cfg = {k: prof.get(f"prepare.{k}") for k in ("mode", "long_clips")} | {"seed": prof.get("seed")}
            run = self.run(kind)
            for rep in reps:
                graph.add(Task(f"prepare:{spec.name}:{rep}", pipeline.step_prepare,
                               dict(self._common(corpus), representation=rep), deps=(f"corpus:{spec.name}",),
                               outputs=(str(run.store(rep)),), config=prep_cfg))
            labels = list(LABELS.get(spec.kind, self.book["labels"]))
            graph.add(Task(f"splits:{spec.name}", pipeline.step_splits, dict(self._common(corpus), labels=labels),
                           deps=(f"corpus:{spec.name}",), outputs=(str(run.dir / "splits" / "folds.csv"),),
                           config={"labels": labels, "n_folds": prof.get("splits.n_folds"), "seed": prof.get("seed")}))

    @staticmethod
    def _model_rep(model: str) -> str:
        from ..models.architectures import MODELS

        return MODELS[model][0]

    def model_tasks(self, graph: Graph, kind: str, label: str, fold, model: str) -> str:
        """Add train and evaluate of one model; return the evaluate task's id."""
        from ..data.corpora import get_corpus
        from ..models.runs import Task as RunTask
        from ..models.train import settings

        corpus = self.corpus(kind)
        name = get_corpus(corpus).name
        run = self.run(kind)
        task = RunTask(label, fold, model)
        cfg = {"settings": settings(self.profile, model, label), "mode": self.profile.get("prepare.mode")}
        args = dict(self._common(corpus), label=label, fold=fold, model=model)
        rep = task.representation
        tid = f"train:{name}:{label}:{fold}:{model}"
        graph.add(Task(tid, pipeline.step_train, args, deps=(f"prepare:{name}:{rep}", f"splits:{name}"),
                       outputs=(str(run.model_path(task)),), config=cfg))
        eid = f"evaluate:{name}:{label}:{fold}:{model}"
        graph.add(Task(eid, pipeline.step_evaluate, args, deps=(tid,),
                       outputs=(str(run.predictions_path(task)), str(run.evaluation_path(task)),
                                str(run.confusion_path(task))), config=cfg))
        return eid

    def summary_task(self, graph: Graph, kind: str, label: str, model: str, folds: list) -> str:
        from ..data.corpora import get_corpus

        corpus = self.corpus(kind)
        name = get_corpus(corpus).name
        numbered = [f for f in folds if f != "random"]
        deps = tuple(self.model_tasks(graph, kind, label, f, model) for f in folds)
        sid = f"summarize:{name}:{label}:{model}"
        paths = self.run(kind).mean_paths(label, model)
        graph.add(Task(sid, pipeline.step_summarize, dict(self._common(corpus), label=label, model=model,
                                                          folds=numbered),
                       deps=deps, outputs=tuple(str(p) for p in paths.values()), config={"folds": numbered}))
        return sid

    def explain_task(self, graph: Graph, kind: str, label: str, fold, model: str, method: str) -> str:
        from ..data.corpora import get_corpus

        corpus = self.corpus(kind)
        name = get_corpus(corpus).name
        eid = self.model_tasks(graph, kind, label, fold, model)
        # the profile's method parameters for this model and method only: changing LIME's does
        # not make the Grad-CAM pages run again
        options = {**self.explain_options(model),
                   "params": dict(self.book["explainer_params"].get(model, {}).get(method, {}))}
        run = self.run(kind)
        from ..models.runs import Task as RunTask

        outputs = tuple(str(p) for p in explain_outputs(run, RunTask(label, fold, model), method))
        xid = f"explain:{name}:{label}:{fold}:{model}:{method}"
        graph.add(Task(xid, pipeline.step_explain, dict(self._common(corpus), label=label, fold=fold, model=model,
                                                        method=method, options=options),
                       deps=(eid,), outputs=outputs,
                       config={"options": options, "train": graph[eid].config}))
        return xid

    def explain_options(self, model: str) -> dict:
        return explain_options(self.profile, model)

    def page_task(self, graph: Graph, chapter: str, params: dict, deps: tuple = ()) -> str:
        spec = CHAPTERS[chapter]
        source = chapters_dir(self.paths) / spec.source_name
        if not source.is_file():
            raise DataError(f"{source}: chapter source not found")
        out = self.page_path(chapter, params)
        nb_params = self.notebook_params(chapter, params)
        cfg = {"params": nb_params, "source": hashlib.sha256(source.read_bytes()).hexdigest(),
               "profile": self.profile.values, "corpora": self.corpora}
        tid = f"chapter:{spec.stem(params)}"
        graph.add(Task(tid, step_chapter, dict(source=str(source), output=str(out), params=nb_params,
                                               root=self.root, timeout=self.book["cell_timeout"],
                                               stem=spec.stem(params), title=spec.page_title(params)),
                       deps=tuple(dict.fromkeys(deps)), outputs=(str(out),), config=_jsonable(cfg),
                       always=chapter == "reproducibility"))
        return tid

    def notebook_params(self, chapter: str, params: dict) -> dict:
        out = {"profile": self.profile_ref(), "page": CHAPTERS[chapter].stem(params)}
        if chapter in ("preface", "reproducibility", "survey"):
            out["corpora"] = {k: v["name"] for k, v in self.corpora.items()}
        if chapter == "data":
            kind = next(k for k in self.corpora if corpus_label(self.corpus(k)) == params["corpus"])
            out["corpus"] = self.corpus(kind)
        elif chapter in ("training", "explanations", "information"):
            out["corpus"] = self.corpus("digits")
            out.update(params)
            if chapter == "training":
                out["folds"] = self.folds(params["label"]) or [f for f in self.all_folds("digits", params["label"])
                                                               if f != "random"][:1]
        elif chapter == "emotions":
            out["corpus"] = self.corpus("emotions")
            out.update(params)
            out["folds"] = [f for f in self.emotion_folds() if f != "random"]
            out["models"] = list(self.book["emotion_models"])
        return _jsonable(out)

    def profile_ref(self) -> str:
        """How a kernel loads the profile: its name, or its YAML path for a custom one."""
        from ..config import PROFILE_DIR

        src = Path(self.profile.source)
        return self.profile.name if src.parent == PROFILE_DIR else str(src.resolve())

    def page_deps(self, graph: Graph, chapter: str, params: dict) -> tuple:
        """Add the tasks a page needs; return their ids."""
        from ..data.corpora import get_corpus

        if chapter == "data":
            kind = next(k for k in self.corpora if corpus_label(self.corpus(k)) == params["corpus"])
            name = get_corpus(self.corpus(kind)).name
            return tuple(t for t in graph.tasks if t.startswith((f"prepare:{name}:", f"splits:{name}")))
        if chapter == "training":
            folds = self.notebook_params(chapter, params)["folds"]
            return (self.summary_task(graph, "digits", params["label"], "alexnet", folds),)
        if chapter == "explanations":
            return (self.explain_task(graph, "digits", params["label"], params["fold"], "alexnet",
                                      params["explainer"]),)
        if chapter == "information":
            return (self.model_tasks(graph, "digits", params["label"], params["fold"], "alexnet"),)
        if chapter == "emotions":
            deps = []
            folds = self.emotion_folds()
            numbered = [f for f in folds if f != "random"]
            for model in self.book["emotion_models"]:
                model_folds = numbered + (["random"] if model == "cnn1d" else [])
                deps.append(self.summary_task(graph, "emotions", "emotion", model, model_folds))
            for fold in numbered[:1] + ["random"]:
                deps.append(self.explain_task(graph, "emotions", "emotion", fold, "cnn1d", params["explainer"]))
            return tuple(deps)
        return ()

    def graph(self, pages: list[tuple[str, dict]] | None = None, *, build: bool = True) -> Graph:
        """The task graph of ``pages`` (default: the whole book) and the build."""
        graph = Graph(self.state_dir)
        self.data_tasks(graph)
        pages = self.pages() if pages is None else pages
        page_ids = []
        for chapter, params in pages:
            deps = self.page_deps(graph, chapter, params)
            if chapter == "reproducibility":
                deps = deps + tuple(page_ids)
            page_ids.append(self.page_task(graph, chapter, params, deps))
        if build:
            graph.add(Task("book", step_build, {"root": self.root}, deps=tuple(page_ids), always=True))
        return graph

    def prune(self, pages: list[tuple[str, dict]]) -> list[Path]:
        """Delete executed pages under ``book/`` that are not in ``pages``; return them."""
        keep = {self.page_path(c, p).resolve() for c, p in pages}
        removed = []
        for chapter in CHAPTERS.values():
            for path in [self.out_dir / chapter.source_name, *(self.out_dir / chapter.name).glob("*.ipynb")]:
                if path.is_file() and path.resolve() not in keep:
                    path.unlink()
                    shutil.rmtree(path.with_name(path.stem + "_files"), ignore_errors=True)
                    removed.append(path)
        return removed

    def save_state(self) -> None:
        write_json_atomic(self.state_dir / "book.json",
                          {"profile": self.profile_ref(), "corpora": self.corpora,
                           "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def explain_options(profile: Profile, model: str) -> dict:
    """What the book explains of a model (see :func:`xaispec.workflow.graph.book_samples`), from the profile."""
    b = profile.get("book")
    if model == "alexnet":
        return {"examples": b["examples_per_digit_per_sex"], "examples_max": b["examples_max"],
                "wrong": b["wrong"], "correct": b["correct"], "top_percent": b["top_percent"]}
    return {"rows": b["shap_rows"], "background": b["shap_background"]}


def explain_outputs(run, task, method: str) -> list[Path]:
    """The result files an explain task leaves: ``explanations/{method}_{short}.csv``, ``.npz``, ``.json``."""
    from ..study.results import result_paths

    return list(result_paths(run, task, method))


def last_book(paths: Paths) -> dict | None:
    """The profile and corpora of the last ``xaispec book`` in this root (None if none)."""
    path = paths.runs / BOOK_STATE / "book.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


# ---------------------------------------------------------------- executing a page

def _kernel_env(root: str) -> None:
    os.environ["XAISPEC_ROOT"] = str(root)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"


def _first_line(text: str, limit: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return (text.splitlines()[0] if text else "")[:limit]


def step_chapter(source: str, output: str, params: dict, root: str, timeout: int, stem: str,
                 title: str | None = None) -> dict:
    """Execute one page with papermill into ``book/``.

    The page is executed under ``book/.work/`` and moved into place only when every cell
    ran. Then the cells tagged ``parameters`` and ``injected-parameters`` are tagged
    ``remove-cell`` (the page's first cell shows its parameters), the other code cells
    ``hide-input`` (a button shows the code), stderr outputs are dropped and the first
    heading becomes ``title``. A failing page is kept as ``book/_failed/<page>.ipynb``
    and :class:`ChapterError` names the cell and error.
    """
    import nbformat
    import papermill as pm

    output = Path(output)
    book_dir = Path(root) / "book"
    work = book_dir / ".work" / f"{stem}.ipynb"
    work.parent.mkdir(parents=True, exist_ok=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    _kernel_env(root)
    try:
        pm.execute_notebook(source, str(work), parameters=params, cwd=str(output.parent), kernel_name="python3",
                            progress_bar=False, log_output=False, execution_timeout=timeout,
                            report_mode=False, request_save_on_cell_execute=False,
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except pm.PapermillExecutionError as exc:
        failed = book_dir / "_failed" / f"{stem}.ipynb"
        failed.parent.mkdir(parents=True, exist_ok=True)
        if work.is_file():
            os.replace(work, failed)
        output.unlink(missing_ok=True)
        source_line = _first_line(exc.source, 120)
        raise ChapterError(f"page {stem}: cell {exc.exec_count} ({source_line!r}) failed: "
                           f"{exc.ename}: {_first_line(exc.evalue)} (executed copy: {failed})") from None
    except Exception as exc:
        output.unlink(missing_ok=True)
        raise ChapterError(f"page {stem}: could not be executed: {type(exc).__name__}: {_first_line(exc)}") from None
    nb = nbformat.read(work, as_version=4)
    titled = title is None
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            cell.metadata["tags"] = sorted(set(tags) | {"remove-cell"})
        elif cell.cell_type == "code":
            cell.metadata["tags"] = sorted(set(tags) | {"hide-input"})
        if not titled and cell.cell_type == "markdown" and re.match(r"#\s", cell.source):
            cell.source = re.sub(r"^#\s.*$", f"# {title}", cell.source, count=1, flags=re.M)
            titled = True
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, str(work))
    os.replace(work, output)
    (book_dir / "_failed" / f"{stem}.ipynb").unlink(missing_ok=True)
    return {"page": stem}


def step_build(root: str) -> dict:
    """``jupyter-book build <root> --all -W --keep-going``; the log is ``_build/build.log``.

    Always from a fresh Sphinx environment (``--all``): rendering executed pages takes
    seconds, and an incremental build can keep the labels of a page executed again, which
    ``-W`` turns into errors.

    Raises
    ------
    DataError
        The build failed or warned; the message quotes the first warnings.
    """
    root_dir = Path(root)
    if not (root_dir / "_config.yml").is_file() or not (root_dir / "_toc.yml").is_file():
        raise DataError(f"{root_dir}: _config.yml and _toc.yml are needed to build the book")
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.is_file() else (shutil.which("jupyter-book") or "jupyter-book"),
           "build", str(root_dir), "--all", "-W", "--keep-going"]
    env = dict(os.environ, XAISPEC_ROOT=str(root_dir))
    log = root_dir / "_build" / "build.log"
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root_dir, capture_output=True, text=True, env=env)
    write_text_atomic(log, proc.stdout + "\n" + proc.stderr)
    if proc.returncode == 0:
        index = root_dir / "_build" / "html" / "index.html"
        text = index.read_text(encoding="utf-8") if index.is_file() else ""
        if text and "rel=\"icon\"" not in text and (index.parent / "_static" / "favicon.svg").is_file():
            # Jupyter Book's redirecting index.html has no icon: the browser would ask for /favicon.ico
            link = '<link rel="icon" href="_static/favicon.svg" />'
            write_text_atomic(index, text.replace("<head>", "<head>" + link, 1) if "<head>" in text
                              else link + "\n" + text)
        return {"seconds": round(time.perf_counter() - t0, 1), "html": str(index)}
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + "\n" + proc.stderr)
    warnings = [line for line in text.splitlines() if re.search(r"WARNING|ERROR|Error|error:", line)]
    first = "; ".join(w.strip() for w in warnings[:3]) or _first_line(text.strip().splitlines()[-1] if text.strip() else "")
    raise DataError(f"jupyter-book build failed (exit {proc.returncode}): {first[:800]} (full log: {log})")


# ---------------------------------------------------------------- running a book

@dataclass
class BookResult:
    """What a book or chapter run did."""

    result: pipeline.Result
    plan: BookPlan
    pages: list
    html: Path

    @property
    def ok(self) -> bool:
        return self.result.ok

    def failures(self) -> list[TaskResult]:
        return self.result.failures


def run_book(profile: Profile, paths: Paths, *, corpus=None, executor: str | None = None, rerun: bool = False,
             progress: bool = True, on_result=None) -> BookResult:
    """Run what the book is missing, execute its pages, build it.

    The data tasks run first (the folds and labels the rest of the graph needs come from
    the splits), then the whole graph. Pages no longer in the book are removed.
    """
    corpora = resolve_corpora(corpus, profile.get("book.corpus")) if corpus else None
    plan = BookPlan(profile, paths, corpora, rerun=rerun)
    ensure_frame(paths)
    ex = make_executor(profile, executor, progress=progress, on_result=on_result)
    data = Graph(plan.state_dir)
    plan.data_tasks(data)
    first = ex.run(data)
    plan.reset()
    pages = plan.pages()
    graph = plan.graph(pages)
    plan.prune(pages)
    plan.save_state()
    if rerun:
        for tid in graph.tasks:
            if tid.startswith("chapter:"):
                pipeline.stamp_path(plan.state_dir, tid).unlink(missing_ok=True)
    result = ex.run(graph)
    for tid, r in first.results.items():  # a failed data task is reported once, as it was
        if not r.ok:
            result.results[tid] = r
    return BookResult(result, plan, pages, paths.root / "_build" / "html" / "index.html")


def run_chapter(chapter: str, params: dict, paths: Paths, *, profile: Profile | None = None, corpus=None,
                executor: str | None = None, progress: bool = True, on_result=None) -> BookResult:
    """Execute one page with new parameters (running what it needs first) and rebuild the book.

    The profile and corpora default to those of the last ``xaispec book`` in this root.
    """
    state = last_book(paths)
    if profile is None:
        profile = load_profile(state["profile"] if state else "quick")
    if corpus:
        corpora = resolve_corpora(corpus, profile.get("book.corpus"))
    elif state and state.get("corpora"):
        corpora = state["corpora"]
    else:
        corpora = None
    plan = BookPlan(profile, paths, corpora)
    params = plan.validate(chapter, params)
    ensure_frame(paths)
    ex = make_executor(profile, executor, progress=progress, on_result=on_result)
    data = Graph(plan.state_dir)
    plan.data_tasks(data)
    needed = plan.page_kinds(chapter, params)
    first = ex.run(data, targets=plan.data_task_ids(data, needed)) if needed else pipeline.Result({})
    plan.reset()
    params = plan.validate(chapter, params)
    graph = plan.graph([(chapter, params)])
    if CHAPTERS[chapter].params:
        plan.remember(chapter, params)
    result = ex.run(graph, targets=["book"])
    for tid, r in first.results.items():
        if not r.ok:
            result.results[tid] = r
    return BookResult(result, plan, [(chapter, params)], paths.root / "_build" / "html" / "index.html")


def make_executor(profile: Profile, name: str | None, **options) -> pipeline.Executor:
    name = name or profile.get("book.executor")
    if name == "local":
        return pipeline.LocalExecutor(**options)
    return pipeline.get_executor(name, n_workers=profile.get("book.workers"), **options)


# ---------------------------------------------------------------- helpers for the chapters

def context(profile: str, corpus: str | None = None):
    """``(paths, profile, run)`` for a chapter: the run is None without a corpus."""
    paths = Paths.default()
    prof = load_profile(profile)
    run = open_run(corpus, str(paths.root), prof) if corpus else None
    return paths, prof, run


def _slug(text: str) -> str:
    """A label-safe name; ``+`` becomes ``p`` so that gradcam and gradcam++ differ."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower().replace("+", "p")).strip("-")


_SORT_JS = """<script>
if (!window.xaispecSort) {
  window.xaispecSort = function (th) {
    var table = th.closest('table'), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute('data-order') !== 'asc';
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute('data-order'); });
    th.setAttribute('data-order', asc ? 'asc' : 'desc');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute('data-value'), y = b.cells[col].getAttribute('data-value');
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  };
}
</script>"""


class Page:
    """Display helpers of one executed page: its header, figures, tables and audio.

    Parameters
    ----------
    page : str
        The page's path under ``book/`` without suffix (papermill passes it), e.g.
        ``explanations/digit_0_lime``; names figure files and labels.
    profile : str
        The run profile's name (or YAML path).
    corpus : str, optional
    params : dict
        The page's parameters, shown in the header.
    """

    def __init__(self, page: str, profile: str, corpus: str | None = None, **params):
        self.page = page
        self.profile_ref = profile
        self.corpus = corpus
        self.params = params
        self.paths, self.profile, self.run = context(profile, corpus)
        self.files = Path.cwd() / f"{Path(page).name}_files"
        self._n = 0

    # -- header ------------------------------------------------------------------------
    def header(self, corpora: dict | None = None) -> None:
        """The page's first output: corpus, profile and parameters."""
        from IPython.display import Markdown, display

        from ..data.corpora import get_corpus

        rows = []
        if self.corpus:
            spec = get_corpus(self.corpus)
            rows.append(("corpus", f"`{corpus_label(self.corpus)}` ({spec.description})"))
        for kind, name in (corpora or {}).items():
            rows.append((f"{kind} corpus", f"`{corpus_label(name)}`"))
        desc = self.profile.get("description")
        rows.append(("profile", f"`{self.profile.name}`" + (f" ({desc})" if desc else "")))
        for key, value in self.params.items():
            rows.append((key, f"`{value}`"))
        text = "| this page | |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
        display(Markdown(text))

    # -- figures -----------------------------------------------------------------------
    def _figure_file(self, fig_or_path, name: str) -> Path:
        self.files.mkdir(parents=True, exist_ok=True)
        target = self.files / f"{_slug(name)}.png"
        if isinstance(fig_or_path, (str, os.PathLike)):
            shutil.copyfile(fig_or_path, target)
        else:
            fig_or_path.savefig(target, format="png", dpi=100, bbox_inches="tight")
            try:
                import matplotlib.pyplot as plt

                plt.close(fig_or_path)
            except Exception:  # a Figure made outside pyplot
                pass
        return target

    def label(self, name: str) -> str:
        return f"fig-{_slug(self.page)}-{_slug(name)}"

    def figure_markdown(self, fig_or_path, caption: str, name: str | None = None, width: str | None = None) -> str:
        self._n += 1
        name = name or f"figure-{self._n}"
        target = self._figure_file(fig_or_path, name)
        rel = f"{self.files.name}/{target.name}"
        opts = f":name: {self.label(name)}\n" + (f":width: {width}\n" if width else "")
        caption = caption.replace("\n", " ").strip() or name
        return f"```{{figure}} {rel}\n{opts}\n{caption}\n```\n"

    def figure(self, fig_or_path, caption: str, name: str | None = None, width: str | None = None) -> str:
        """Show a numbered figure with ``caption`` (a Matplotlib figure or a PNG file);
        return its label for ``{numref}`` references."""
        from IPython.display import Markdown, display

        md = self.figure_markdown(fig_or_path, caption, name, width)
        display(Markdown(md))
        return self.label(name or f"figure-{self._n}")

    def gallery(self, items: list[tuple], columns: int = 3) -> None:
        """Figures side by side: ``items`` of (figure or path, caption, name)."""
        from IPython.display import Markdown, display

        if not items:
            return
        cells = []
        for item in items:
            fig, caption, name = (list(item) + [None])[:3]
            cells.append(":::{grid-item}\n" + self.figure_markdown(fig, caption, name) + ":::\n")
        display(Markdown(f"::::{{grid}} 1 2 {columns} {columns}\n" + "".join(cells) + "::::\n"))

    # -- tables and text ---------------------------------------------------------------
    @staticmethod
    def markdown(text: str) -> None:
        from IPython.display import Markdown, display

        display(Markdown(text))

    @staticmethod
    def table(frame, *, caption: str | None = None, sortable: bool = True, floatfmt: str = "{:.3f}",
              max_rows: int | None = None) -> None:
        """An HTML table; with ``sortable`` a click on a column header sorts by it."""
        from IPython.display import HTML, display

        import pandas as pd

        frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
        if max_rows is not None and len(frame) > max_rows:
            frame = frame.head(max_rows)
        cols = list(frame.columns)
        head = "".join(
            (f'<th onclick="xaispecSort(this)" title="click to sort" style="cursor:pointer">{html.escape(str(c))} &#8597;</th>'
             if sortable else f"<th>{html.escape(str(c))}</th>") for c in cols)
        body = []
        for row in frame.astype(object).itertuples(index=False, name=None):  # keeps ints ints
            tds = []
            for v in row:
                text = "" if v is None or (isinstance(v, float) and v != v) else \
                    floatfmt.format(v) if isinstance(v, float) else str(v)
                tds.append(f'<td data-value="{html.escape(str(v), quote=True)}">{html.escape(text)}</td>')
            body.append("<tr>" + "".join(tds) + "</tr>")
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        out = (f'<table class="table xaispec-table{" sortable" if sortable else ""}">{cap}<thead><tr>{head}</tr></thead>'
               f"<tbody>{''.join(body)}</tbody></table>")
        display(HTML((_SORT_JS if sortable else "") + f'<div style="overflow-x:auto">{out}</div>'))

    # -- audio -------------------------------------------------------------------------
    @staticmethod
    def audio(data, rate: int | None = None, *, label: str | None = None) -> None:
        """An audio player with the WAV embedded (``data``: a WAV path or samples with ``rate``)."""
        from IPython.display import HTML, Audio, display

        player = Audio(filename=str(data)) if isinstance(data, (str, os.PathLike)) else Audio(data=data, rate=rate)
        title = f"<div><small>{html.escape(label)}</small></div>" if label else ""
        display(HTML(f'<div class="xaispec-audio">{title}{player._repr_html_()}</div>'))


def audio_html(data, rate: int | None = None, label: str | None = None) -> str:
    """The HTML of an embedded audio player (for building tables of players)."""
    from IPython.display import Audio

    player = Audio(filename=str(data)) if isinstance(data, (str, os.PathLike)) else Audio(data=data, rate=rate)
    title = f"<div><small>{html.escape(label)}</small></div>" if label else ""
    return f'<div class="xaispec-audio">{title}{player._repr_html_()}</div>'


def wav_data_uri(path: str | os.PathLike) -> str:
    return "data:audio/wav;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def timings(paths: Paths | None = None):
    """The book's task timings from its stamps: task, kind, seconds, the work units it counted
    (``image_epochs`` trained, rows run ``forward`` and ``backward`` through a network) and
    when it finished."""
    import pandas as pd

    paths = paths or Paths.default()
    rows = []
    columns = ["task", "kind", "seconds", "image_epochs", "forward", "backward", "finished"]
    for stamp in sorted((paths.runs / BOOK_STATE / "stamps").glob("*.json")):
        try:
            data = json.loads(stamp.read_text(encoding="utf-8"))
        except ValueError:
            continue
        work = data.get("work") or {}
        rows.append({"task": data["id"], "kind": data["id"].split(":", 1)[0], "seconds": data.get("seconds", 0.0),
                     **{k: int(work.get(k, 0)) for k in ("image_epochs", "forward", "backward")},
                     "finished": data.get("finished", "")})
    return pd.DataFrame(rows, columns=columns)


def toy_problem(n: int = 96, size: int = 24, seed: int = 0):
    """A toy spectrogram task for the survey's demonstrations, and a small CNN trained on it.

    Class 0 images hold a horizontal band (a steady tone), class 1 a vertical band (a click),
    at random positions over noise. Returns ``(model, x, y)`` with ``x`` (n, size, size, 1).
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
