"""The book's chapters: their table, the texts pages share, and where their sources are.

The chapter sources are ``chapters/*.ipynb``: each has a title, a cell tagged
``parameters`` and no outputs. A *page* is one chapter executed with one parameter set
into ``book/``: ``book/preface.ipynb``, ``book/training/digit.ipynb``,
``book/explanations/digit_0_lime.ipynb`` and so on. ``_toc.yml`` picks the pages up with
glob entries, so a new parameter set appears without editing it. The *frame* is the
configuration and bibliography that make a folder a Jupyter Book.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..config import Paths
from .corpora import corpus_label

#: the AudioMNIST paper's AlexNet test accuracy, mean over folds (Becker et al.)
PUBLISHED = {"digit": 0.958, "gender": 0.959}

#: the SHAP estimators of the emotion chapter (the 1D CNN's 128 features)
EMOTION_EXPLAINERS = ("shap_gradient", "shap_kernel", "shap_permutation", "shap_deep")

#: the methods of the waveform pages (AudioNet's 8,000 input samples)
WAVEFORM_EXPLAINERS = ("lrp", "saliency", "integrated_gradients", "smoothgrad", "occlusion")

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
    "random": "The random floor: uniform noise as a map. A method must beat it to say anything about the model.",
    "energy": "The energy floor: the spectrogram itself (loud cells matter), the AudioMNIST paper's amplitude "
              "baseline. It ignores the model.",
    "lrp": "LRP hands the class's logit back through the network layer by layer, each layer sharing it among its "
           "inputs by a rule (the model's default composite): red cells are evidence for the class, blue against.",
    "shap_permutation": "Permutation SHAP adds the features one at a time in sampled orders and records each one's "
                        "marginal contribution.",
}


def method_facts(method: str) -> dict:
    """The method's name as the figures call it (``method``) and its line of
    :data:`METHOD_NOTES` (``method_note``, empty when it has none), for a page's introduction."""
    from ..figures import method_name

    return {"method": method_name(method), "method_note": METHOD_NOTES.get(method, "")}


@dataclass(frozen=True)
class Chapter:
    """A chapter source and the parameters that select one of its pages.

    Attributes
    ----------
    name : str
        The source's stem (``chapters/<name>.ipynb``) and its pages' folder.
    title : str
    params : tuple of str
        The parameters that select a page, in the order they name it.
    """

    name: str
    title: str
    params: tuple = ()

    @property
    def source_name(self) -> str:
        """The source's file name, ``<name>.ipynb``."""
        return f"{self.name}.ipynb"

    def page_title(self, params: dict) -> str:
        """The page's title: the chapter's title and its parameters, e.g.
        ``Explanations: digit, fold 0, LIME``."""
        if not params:
            return self.title
        from ..figures import method_name

        parts = []
        for key in self.params:
            value = params[key]
            if key == "fold":
                parts.append(f"fold {value}")
            elif key == "explainer":
                parts.append(method_name(str(value)))
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
    Chapter("waveforms", "Explanations of waveforms", ("label", "fold")),
    Chapter("evaluation", "Evaluating the explanations", ("label", "fold")),
    Chapter("groundtruth", "Ground truth", ("cue",)),
    Chapter("information", "Input information", ("label", "fold")),
    Chapter("emotions", "Emotion recognition with SHAP", ("explainer",)),
    Chapter("reproducibility", "Reproducibility"),
)}


#: the project folder (the package's checkout: ``src/xaispec/book/`` is three levels below it)
PROJECT = Path(__file__).resolve().parents[3]
#: the files that make a folder a book: copied from the project into another root when missing
FRAME = ("_config.yml", "_toc.yml", "book/references.bib", "book/favicon.svg", "book/.gitignore")


def ensure_frame(paths: Paths) -> list[Path]:
    """Copy the book's configuration and bibliography into ``paths.root`` where missing.

    Returns
    -------
    list of Path
        The files copied.
    """
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
