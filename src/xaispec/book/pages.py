"""Which pages a book has: its labels, folds and explainers, and every page's parameters.

:class:`BookPages` reads the ``book:`` section of the run profile (labels, folds,
explainers) against what the corpora allow: the labels that can be split, the folds the
splits have (predicted by :func:`xaispec.data.splits.fold_count` before they exist). It
lists the pages in reading order, checks a page's parameters and gives the notebook
parameters papermill injects. :class:`~xaispec.book.plan.BookPlan` adds the tasks.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import as_json, write_json_atomic
from ..config import Paths, Profile
from ..data.splits import PROTOCOLS
from ..errors import ParameterError, XaispecError
from ..models.runs import open_run
from ..study.steps import corpus_root, feasible_labels
from .chapters import CHAPTERS, EMOTION_EXPLAINERS, WAVEFORM_EXPLAINERS
from .corpora import corpus_label, cue_corpus, resolve_corpora
from .state import state_dir

#: the networks a planted-cue corpus can train: the spectrogram's and the waveform's
CUE_MODELS = ("alexnet", "audionet")



@dataclass
class BookPages:
    """The pages of a book and their parameters.

    Parameters
    ----------
    profile : Profile
        Its ``book:`` section says which pages and sizes.
    paths : Paths
    corpora : dict, optional
        From :func:`~xaispec.book.corpora.resolve_corpora`; default the profile's ``book.corpus``.
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
        from ..data.synth import CUE_KINDS

        bad = [k for k in self.book["cues"] if k not in CUE_KINDS]
        if bad:
            raise ParameterError(f"book.cues: {bad[0]!r} is not a cue kind; valid kinds: {', '.join(CUE_KINDS)}")
        bad = [m for m in self.book["cue_models"] if m not in CUE_MODELS]
        if bad or not self.book["cue_models"]:
            raise ParameterError(f"book.cue_models: {(bad or [[]])[0]!r} is not a planted-cue model; "
                                 f"give one or more of {', '.join(CUE_MODELS)}")
        for kind in self.book["cues"]:   # the planted-cue corpora of the ground-truth pages
            self.corpora.setdefault(f"cues-{kind}", {"name": cue_corpus(kind), "source": None})
        self.root = str(self.paths.root)

    # -- locations ---------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        """The book's run folder (stamps, events, extra pages, last book)."""
        return state_dir(self.paths)

    @property
    def out_dir(self) -> Path:
        """Where the executed pages go: ``book/``."""
        return self.paths.book

    def page_path(self, chapter: str, params: dict) -> Path:
        """The executed page of ``chapter`` with ``params``."""
        return self.out_dir / f"{CHAPTERS[chapter].stem(params)}.ipynb"

    def cue_kinds(self) -> list[str]:
        """The cue kinds of the book's planted-cue corpora (``tone``, ...), in the book's order."""
        return [k.split("-", 1)[1] for k in self.corpora if k.startswith("cues-")]

    def corpus(self, kind: str) -> str | None:
        """The corpus of ``kind`` (``digits``, ``emotions``, ``cues-tone``, ...), or None."""
        entry = self.corpora.get(kind)
        return entry["name"] if entry else None

    def run(self, kind: str):
        """The :class:`~xaispec.models.runs.Run` of the corpus of ``kind``."""
        return open_run(self.corpus(kind), self.root, self.profile)

    def reset(self) -> None:
        """Forget what was learnt about folds and labels (after the data tasks ran)."""
        self._folds_cache.clear()

    def page_kinds(self, chapter: str, params: dict) -> list[str]:
        """The corpus kinds (digits, emotions) a page needs data of."""
        if chapter in ("training", "explanations", "waveforms", "information"):
            return ["digits"]
        if chapter == "emotions":
            return ["emotions"]
        if chapter == "data":
            return [k for k in self.corpora if corpus_label(self.corpus(k)) == str(params.get("corpus"))]
        if chapter == "groundtruth":
            return [f"cues-{params.get('cue')}"]
        return []

    # -- labels and folds --------------------------------------------------------------
    def labels(self) -> list[str]:
        """The AlexNet labels of the digit corpus that can be split (after the data phase)."""
        corpus = self.corpus("digits")
        if corpus is None:
            return []
        wanted = list(self.book["labels"])
        if not corpus_root(corpus, self.root).exists():
            return wanted
        if ("labels",) not in self._folds_cache:
            bad = feasible_labels(corpus, self.root, self.profile, wanted)
            self._folds_cache[("labels",)] = [lab for lab in wanted if lab not in bad]
        return self._folds_cache[("labels",)]

    def all_folds(self, kind: str, label: str) -> list:
        """Every fold of ``label`` the splits have (predicted before they exist)."""
        from ..data.splits import fold_count

        key = (kind, label)
        if key in self._folds_cache:
            return self._folds_cache[key]
        run = self.run(kind)
        folds = run.folds(label) if (run.dir / "splits").is_dir() else []
        if not folds:
            n = fold_count(self.corpus(kind), label, self.profile)
            folds = list(range(n)) + (sorted(PROTOCOLS) if label == "emotion" else [])
        self._folds_cache[key] = folds
        return folds

    def folds(self, label: str) -> list[int]:
        """The profile's folds of an AlexNet label that exist."""
        have = self.all_folds("digits", label)
        return [f for f in self.book["folds"] if f in have]

    def explain_folds(self, label: str) -> list[int]:
        """The profile's explained folds of an AlexNet label that exist (none for a label left out
        of a non-empty ``book.explain_labels``)."""
        if self.book["explain_labels"] and label not in self.book["explain_labels"]:
            return []
        have = self.all_folds("digits", label)
        return [f for f in self.book["explain_folds"] if f in have]

    def emotion_folds(self) -> list:
        """The profile's emotion folds that exist."""
        have = self.all_folds("emotions", "emotion")
        return [f for f in self.book["emotion_folds"] if f in have]

    def cue_fold(self) -> int:
        """The fold of the planted-cue models: the first of the profile's folds."""
        return int(self.book["folds"][0])

    def explainers(self, model: str = "alexnet") -> list[str]:
        """The profile's explanation methods of ``model`` (``alexnet``, ``audionet`` or ``cnn1d``)."""
        if model == "audionet":
            return list(self.book["audionet_explainers"]) if self.book["audionet"] else []
        return list(self.book["explainers"] if model == "alexnet" else self.book["emotion_explainers"])

    def cue_models(self) -> list[str]:
        """The networks trained on each planted-cue corpus (``book.cue_models``), AlexNet first."""
        return [m for m in CUE_MODELS if m in self.book["cue_models"]]

    def cue_explainers(self, model: str) -> list[str]:
        """The methods that explain a planted-cue ``model``: AlexNet's and AudioNet's of the book
        (AudioNet's even where ``book.audionet`` trains none on the digits)."""
        return list(self.book["audionet_explainers"]) if model == "audionet" else self.explainers("alexnet")

    def digit_models(self) -> list[str]:
        """The networks trained on every label and fold of the digit corpus: AlexNet, and AudioNet
        when the profile's ``book.audionet`` is on."""
        return ["alexnet", "audionet"] if self.book["audionet"] else ["alexnet"]

    @staticmethod
    def valid_explainers(model: str) -> list[str]:
        """Explanation methods the book runs on ``model``: for AlexNet every method but the two
        that need thousands of model calls per input cell group (Kernel and Permutation SHAP on
        51,529 cells); for the emotion 1D CNN the SHAP estimators."""
        from ..explain import METHODS

        if model == "cnn1d":
            return [m for m in EMOTION_EXPLAINERS if m in METHODS]
        if model == "audionet":
            return list(WAVEFORM_EXPLAINERS)
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
                if self.explainers("audionet"):
                    pages.append(("waveforms", {"label": label, "fold": fold}))
        for label in labels:
            for fold in self.explain_folds(label):
                if self.explainers("alexnet"):
                    pages.append(("evaluation", {"label": label, "fold": fold}))
        if self.corpus("emotions") and self.emotion_folds() and self.explainers("cnn1d"):
            numbered = [f for f in self.emotion_folds() if f not in PROTOCOLS]
            if numbered:
                pages.append(("evaluation", {"label": "emotion", "fold": numbered[0]}))
        if self.explainers("alexnet"):
            pages += [("groundtruth", {"cue": kind}) for kind in self.cue_kinds()]
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
        """Add a page to the book's extra pages (kept while it stays valid)."""
        path = self.state_dir / "extra_pages.json"
        entries = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        entry = {"chapter": chapter, "params": as_json(params)}
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
        elif chapter in ("training", "explanations", "waveforms", "information"):
            if chapter == "waveforms" and not self.book["audionet"]:
                raise ParameterError("waveforms: this book trains no AudioNet (book.audionet is off in its profile); "
                                     "turn it on to explain waveforms")
            labels = self.labels()
            label = pick("label", labels)
            if chapter != "training":
                folds = [f for f in self.all_folds("digits", label) if f not in PROTOCOLS]
                default = self.explain_folds(label)[0] if self.explain_folds(label) else None
                pick("fold", folds, default)
            if chapter == "explanations":
                pick("explainer", self.valid_explainers("alexnet"), (self.explainers("alexnet") or [None])[0])
        elif chapter == "emotions":
            pick("explainer", self.valid_explainers("cnn1d"), (self.explainers("cnn1d") or [None])[0])
        elif chapter == "groundtruth":
            pick("cue", self.cue_kinds())
        elif chapter == "evaluation":
            emotion = ["emotion"] if self.corpus("emotions") else []
            label = pick("label", self.labels() + emotion)
            if label == "emotion":
                folds = [f for f in self.all_folds("emotions", "emotion") if f not in PROTOCOLS]
                default = next((f for f in self.emotion_folds() if f not in PROTOCOLS), None)
            else:
                folds = [f for f in self.all_folds("digits", label) if f not in PROTOCOLS]
                default = self.explain_folds(label)[0] if self.explain_folds(label) else None
            pick("fold", folds, default)
        return out

    def notebook_params(self, chapter: str, params: dict) -> dict:
        """The parameters papermill injects into a page (JSON values)."""
        out = {"profile": self.profile_ref(), "page": CHAPTERS[chapter].stem(params)}
        if chapter in ("preface", "reproducibility", "survey"):
            out["corpora"] = {k: v["name"] for k, v in self.corpora.items()}
        if chapter == "data":
            kind = next(k for k in self.corpora if corpus_label(self.corpus(k)) == params["corpus"])
            out["corpus"] = self.corpus(kind)
        elif chapter in ("training", "explanations", "waveforms", "information"):
            out["corpus"] = self.corpus("digits")
            out.update(params)
            if chapter == "training":
                out["folds"] = self.folds(params["label"]) or [f for f in self.all_folds("digits", params["label"])
                                                               if f not in PROTOCOLS][:1]
                out["models"] = self.digit_models()
            if chapter == "waveforms":
                out["methods"] = self.explainers("audionet")
                out["alexnet_methods"] = self.explainers("alexnet")
        elif chapter == "evaluation":
            emotion = params["label"] == "emotion"
            out["corpus"] = self.corpus("emotions" if emotion else "digits")
            out.update(params)
            out["model"] = "cnn1d" if emotion else "alexnet"
            out["methods"] = self.explainers(out["model"])
        elif chapter == "groundtruth":
            out["corpus"] = self.corpus(f"cues-{params['cue']}")
            out.update(params)
            out["fold"] = self.cue_fold()
            out["methods"] = self.explainers("alexnet")
            out["models"] = self.cue_models()
        elif chapter == "emotions":
            out["corpus"] = self.corpus("emotions")
            out.update(params)
            out["folds"] = [f for f in self.emotion_folds() if f not in PROTOCOLS]
            out["models"] = list(self.book["emotion_models"])
        return as_json(out)

    def profile_ref(self) -> str:
        """How a kernel loads the profile: its name, or its YAML path for a custom one."""
        from ..config import PROFILE_DIR

        src = Path(self.profile.source)
        return self.profile.name if src.parent == PROFILE_DIR else str(src.resolve())

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
