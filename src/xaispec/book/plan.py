"""The book's task graph: the data, training, evaluation and explanation tasks its pages need.

What a book contains is the ``book:`` section of the run profile (labels, folds,
explainers, sample counts); :class:`BookPlan` turns the pages of
:class:`~xaispec.book.pages.BookPages` into a :class:`~xaispec.workflow.Graph`:
per corpus the corpus, prepare and splits tasks; per model the train, evaluate and
summarize tasks; per explained model and method an explain task; one task per page
(:func:`~xaispec.book.execute.step_chapter`) and the build
(:func:`~xaispec.book.execute.step_build`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .._io import as_json
from ..audio.resynthesis import CELL_RULE
from ..config import Profile
from ..data.splits import PROTOCOLS
from ..errors import DataError
from ..models.runs import ModelSpec
from ..study.steps import (corpus_root, step_corpus, step_evaluate, step_explain, step_groundtruth, step_measure,
                           step_prepare, step_splits, step_summarize, step_train)
from ..workflow import Graph, Task
from .chapters import CHAPTERS, chapters_dir
from .corpora import corpus_label
from .execute import step_build, step_chapter
from .pages import BookPages
from .state import save_book


def explain_options(profile: Profile, model: str, label: str | None = None) -> dict:
    """What the book explains of a model (see :func:`xaispec.study.steps.book_samples`), from the profile.
    A planted-cue model: ``book.cue_examples`` test clips per cue class and sex, for localisation,
    without per-sample figures (its page draws its own and makes the one sound it plays)."""
    b = profile.get("book")
    if label == "cue":
        return {"examples": b["cue_examples"], "examples_max": 0, "wrong": 0, "correct": 0,
                "top_percent": b["top_percent"], "figures": False}
    if model == "alexnet":
        return {"examples": b["examples_per_digit_per_sex"], "examples_max": b["examples_max"],
                "wrong": b["wrong"], "correct": b["correct"], "top_percent": b["top_percent"]}
    if model == "audionet":   # AlexNet's examples (the same seconds), maps only: the waveform page draws them
        return {"examples": b["examples_per_digit_per_sex"], "examples_max": b["examples_max"],
                "wrong": 0, "correct": 0, "top_percent": b["top_percent"], "figures": False}
    return {"rows": b["shap_rows"], "background": b["shap_background"]}


def explain_outputs(run, task, method: str) -> list[Path]:
    """The result files an explain task leaves: ``explanations/{method}_{short}.csv``, ``.npz``, ``.json``."""
    from ..study.results import result_paths

    return list(result_paths(run, task, method))


@dataclass
class BookPlan(BookPages):
    """What a book contains (its :class:`~xaispec.book.pages.BookPages`, with the same
    parameters) and the task graph that makes it (:meth:`graph`)."""

    def _common(self, corpus: str) -> dict:
        return {"corpus": corpus, "root": self.root, "profile": self.profile}

    # -- data --------------------------------------------------------------------------
    def data_tasks(self, graph: Graph) -> None:
        """Add the corpus, prepare and splits tasks of every corpus of the book."""
        from ..data.corpora import LABELS, get_corpus

        for kind, entry in self.corpora.items():
            corpus = entry["name"]
            spec = get_corpus(corpus)
            prof = self.profile
            section = "synthetic.cues" if spec.kind == "cues" else f"synthetic.{kind}"
            cfg_corpus = {"source": entry["source"], "synthetic": prof.get(section)
                          if spec.name.startswith("synthetic-") else None, "seed": prof.get("seed")}
            root_dir = corpus_root(corpus, self.root)
            graph.add(Task(f"corpus:{spec.name}", step_corpus,
                           dict(self._common(corpus), source=entry["source"]),
                           outputs=(str(root_dir),), config=cfg_corpus))
            if spec.kind == "cues":   # the waveform store too when AudioNet learns the cues
                reps = self.cue_models()
            elif kind == "digits":   # the waveform store too when AudioNet is trained beside AlexNet
                reps = ["alexnet", "audionet"] if self.book["audionet"] else ["alexnet"]
            else:
                reps = sorted({"mel128"} | {self._model_rep(m) for m in self.book["emotion_models"]})
            prep_cfg = {k: prof.get(f"prepare.{k}") for k in ("mode", "long_clips")} | {"seed": prof.get("seed")}
            run = self.run(kind)
            for rep in reps:
                graph.add(Task(f"prepare:{spec.name}:{rep}", step_prepare,
                               dict(self._common(corpus), representation=rep), deps=(f"corpus:{spec.name}",),
                               outputs=(str(run.store(rep)),), config=prep_cfg))
            labels = list(LABELS.get(spec.kind, self.book["labels"]))
            graph.add(Task(f"splits:{spec.name}", step_splits, dict(self._common(corpus), labels=labels),
                           deps=(f"corpus:{spec.name}",), outputs=(str(run.dir / "splits" / "folds.csv"),),
                           config={"labels": labels, "n_folds": prof.get("splits.n_folds"), "seed": prof.get("seed")}))

    def data_task_ids(self, graph: Graph, kinds: list[str]) -> list[str]:
        """Ids of the data tasks (corpus, prepare, splits) of the corpora of ``kinds``."""
        from ..data.corpora import get_corpus

        names = {get_corpus(self.corpus(k)).name for k in kinds if self.corpus(k)}
        return [t for t in graph.tasks if t.split(":")[1] in names]

    @staticmethod
    def _model_rep(model: str) -> str:
        from ..models.architectures import MODELS

        return MODELS[model][0]

    # -- models and explanations -------------------------------------------------------
    def model_tasks(self, graph: Graph, kind: str, label: str, fold, model: str) -> str:
        """Add train and evaluate of one model; return the evaluate task's id."""
        from ..data.corpora import get_corpus
        from ..models.runs import ModelSpec
        from ..models.train import settings

        corpus = self.corpus(kind)
        name = get_corpus(corpus).name
        run = self.run(kind)
        task = ModelSpec(label, fold, model)
        cfg = {"settings": settings(self.profile, model, label, name), "mode": self.profile.get("prepare.mode")}
        args = dict(self._common(corpus), label=label, fold=fold, model=model)
        rep = task.representation
        tid = f"train:{name}:{label}:{fold}:{model}"
        graph.add(Task(tid, step_train, args, deps=(f"prepare:{name}:{rep}", f"splits:{name}"),
                       outputs=(str(run.model_path(task)),), config=cfg, resources={"train": 1}))
        eid = f"evaluate:{name}:{label}:{fold}:{model}"
        graph.add(Task(eid, step_evaluate, args, deps=(tid,),
                       outputs=(str(run.predictions_path(task)), str(run.evaluation_path(task)),
                                str(run.confusion_path(task))), config=cfg))
        return eid

    def summary_task(self, graph: Graph, kind: str, label: str, model: str, folds: list) -> str:
        """Add the models of ``folds`` and their summary; return the summary task's id."""
        from ..data.corpora import get_corpus

        corpus = self.corpus(kind)
        name = get_corpus(corpus).name
        numbered = [f for f in folds if f not in PROTOCOLS]
        deps = tuple(self.model_tasks(graph, kind, label, f, model) for f in folds)
        sid = f"summarize:{name}:{label}:{model}"
        paths = self.run(kind).mean_paths(label, model)
        graph.add(Task(sid, step_summarize, dict(self._common(corpus), label=label, model=model,
                                                 folds=numbered),
                       deps=deps, outputs=tuple(str(p) for p in paths.values()), config={"folds": numbered}))
        return sid

    def explain_task(self, graph: Graph, kind: str, label: str, fold, model: str, method: str) -> str:
        """Add one model and its explanation with ``method``; return the explain task's id."""
        from ..data.corpora import get_corpus
        from ..models.runs import ModelSpec

        corpus = self.corpus(kind)
        name = get_corpus(corpus).name
        eid = self.model_tasks(graph, kind, label, fold, model)
        # the profile's method parameters for this model and method only: changing LIME's does
        # not make the Grad-CAM pages run again
        options = {**self.explain_options(model, label),
                   "params": dict(self.book["explainer_params"].get(model, {}).get(method, {}))}
        run = self.run(kind)
        outputs = tuple(str(p) for p in explain_outputs(run, ModelSpec(label, fold, model), method))
        xid = f"explain:{name}:{label}:{fold}:{model}:{method}"
        graph.add(Task(xid, step_explain, dict(self._common(corpus), label=label, fold=fold, model=model,
                                               method=method, options=options),
                       deps=(eid,), outputs=outputs,
                       config={"options": options, "train": graph[eid].config, "cell_rule": CELL_RULE}))
        return xid

    def measure_task(self, graph: Graph, kind: str, label: str, fold, model: str) -> str:
        """Add the explanations of one model by every method of the book and their measurement; return its id."""
        from ..data.corpora import get_corpus
        from ..study.measure import measure_paths

        corpus = self.corpus(kind)
        name = get_corpus(corpus).name
        methods = self.explainers(model)
        deps = tuple(self.explain_task(graph, kind, label, fold, model, m) for m in methods)
        params = {m: dict(self.book["explainer_params"].get(model, {}).get(m, {})) for m in methods}
        outputs = tuple(str(p) for p in measure_paths(self.run(kind), ModelSpec(label, fold, model)).values())
        mid = f"measure:{name}:{label}:{fold}:{model}"
        graph.add(Task(mid, step_measure, dict(self._common(corpus), label=label, fold=fold, model=model,
                                               methods=methods, params=params),
                       deps=deps, outputs=outputs,
                       config={"evaluate": self.profile.get("evaluate"), "methods": methods, "params": params,
                               "explain": [graph[d].config for d in deps]}))
        return mid

    def groundtruth_task(self, graph: Graph, cue: str, model: str = "alexnet") -> str:
        """Add the planted-cue ``model`` of cue kind ``cue``, its explanations by every method of
        the book for that model, their localisation and the controls; return the ground-truth task's id."""
        from ..data.corpora import get_corpus
        from ..study.groundtruth import groundtruth_paths

        kind, fold = f"cues-{cue}", self.cue_fold()
        name = get_corpus(self.corpus(kind)).name
        methods = self.cue_explainers(model)
        deps = tuple(self.explain_task(graph, kind, "cue", fold, model, m) for m in methods)
        params = {m: dict(self.book["explainer_params"].get(model, {}).get(m, {})) for m in methods}
        outputs = tuple(str(p) for p in groundtruth_paths(self.run(kind), ModelSpec("cue", fold, model)).values())
        gid = f"groundtruth:{name}:cue:{fold}:{model}"
        graph.add(Task(gid, step_groundtruth, dict(self._common(self.corpus(kind)), fold=fold, methods=methods,
                                                   params=params, explained=self.book["cue_moved"], model=model),
                       deps=deps, outputs=outputs,
                       config={"methods": methods, "params": params, "explained": self.book["cue_moved"],
                               "explain": [graph[d].config for d in deps]}))
        return gid

    def explain_options(self, model: str, label: str | None = None) -> dict:
        """:func:`explain_options` of this book's profile."""
        return explain_options(self.profile, model, label)

    # -- pages -------------------------------------------------------------------------
    def page_task(self, graph: Graph, chapter: str, params: dict, deps: tuple = ()) -> str:
        """Add the task that executes one page; return its id."""
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
                       deps=tuple(dict.fromkeys(deps)), outputs=(str(out),), config=as_json(cfg),
                       always=chapter == "reproducibility"))
        return tid

    def page_deps(self, graph: Graph, chapter: str, params: dict) -> tuple:
        """Add the tasks a page needs; return their ids."""
        from ..data.corpora import get_corpus

        if chapter == "data":
            kind = next(k for k in self.corpora if corpus_label(self.corpus(k)) == params["corpus"])
            name = get_corpus(self.corpus(kind)).name
            return tuple(t for t in graph.tasks if t.startswith((f"prepare:{name}:", f"splits:{name}")))
        if chapter == "training":
            nb = self.notebook_params(chapter, params)
            return tuple(self.summary_task(graph, "digits", params["label"], model, nb["folds"])
                         for model in nb["models"])
        if chapter == "explanations":
            return (self.explain_task(graph, "digits", params["label"], params["fold"], "alexnet",
                                      params["explainer"]),)
        if chapter == "waveforms":
            nb = self.notebook_params(chapter, params)
            args = ("digits", params["label"], params["fold"])
            return (tuple(self.explain_task(graph, *args, "audionet", m) for m in nb["methods"])
                    + tuple(self.explain_task(graph, *args, "alexnet", m) for m in nb["alexnet_methods"]
                            if m in nb["methods"]))
        if chapter == "evaluation":
            kind, model = ("emotions", "cnn1d") if params["label"] == "emotion" else ("digits", "alexnet")
            return (self.measure_task(graph, kind, params["label"], params["fold"], model),)
        if chapter == "groundtruth":
            return tuple(self.groundtruth_task(graph, params["cue"], model) for model in self.cue_models())
        if chapter == "information":
            return (self.model_tasks(graph, "digits", params["label"], params["fold"], "alexnet"),)
        if chapter == "emotions":
            deps = []
            folds = self.emotion_folds()
            numbered = [f for f in folds if f not in PROTOCOLS]
            for model in self.book["emotion_models"]:
                model_folds = numbered + (sorted(PROTOCOLS) if model == "cnn1d" else [])
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

    def save_state(self) -> None:
        """Record this book's profile and corpora (see :func:`~xaispec.book.state.last_book`)."""
        save_book(self.paths, self.profile_ref(), self.corpora)
