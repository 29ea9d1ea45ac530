"""A manifest's own label column (``accent``) gets the book's pages as digit and gender do: its
training page, explanation pages and input-information page, named after the label and showing
the corpus's own class names, from the book's own tasks (plan, train, explain, pages)."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat

from xaispec.book import BookPlan, resolve_corpora
from xaispec.config import Paths, load_profile
from xaispec.workflow import LocalExecutor

PROFILE = """\
name: accents
description: the smallest book of a manifest with a label column of its own (tests)
splits:
  n_folds: 3
train:
  scaling: standardize
  validate_max: 20
  alexnet: {epochs: 1, batch_size: 8, learning_rate: 0.01}
book:
  labels: [accent]
  folds: [0]
  audionet: false
  cues: []
  explainers: [gradcam]
  examples_max: 4
  wrong: 1
  correct: 1
"""


def page_text(path: Path, *, sources: bool = True) -> str:
    """Every source (unless ``sources`` is False) and text output of an executed page."""
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        if sources or cell.cell_type != "code":
            parts.append(cell.source)
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.extend(str(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(parts)


def test_a_manifests_own_label_gets_training_explanation_and_information_pages(tmp_path):
    from conftest import accents_manifest

    manifest = accents_manifest(tmp_path)
    (tmp_path / "accents.yaml").write_text(PROFILE)
    plan = BookPlan(load_profile(str(tmp_path / "accents.yaml")), Paths(tmp_path), resolve_corpora([str(manifest)]))
    pages = [(c, p) for c, p in plan.pages() if p.get("label") == "accent"]
    assert sorted(c for c, _ in pages) == ["evaluation", "explanations", "information", "training"]
    wanted = [(c, p) for c, p in pages if c != "evaluation"]   # the measurements have pages of their own tests
    result = LocalExecutor(progress=False).run(plan.graph(wanted, build=False))
    assert result.ok, result.summary() + "".join(f"\n{r.id}: {r.error}" for r in result.failures)

    run = tmp_path / "data/runs/accents"
    assert json.loads((run / "models/AlexNet_accent_0.json").read_text())["classes"] == ["scottish", "welsh"]
    training = page_text(tmp_path / "book/training/accent.ipynb")
    explained = page_text(tmp_path / "book/explanations/accent_0_gradcam.ipynb")
    information = page_text(tmp_path / "book/information/accent_0.ipynb")
    assert "# Training and evaluation: accent" in training
    assert "Training and validation loss per epoch, accent fold 0" in training   # its learning curves
    shown = page_text(tmp_path / "book/training/accent.ipynb", sources=False)   # what a reader sees
    assert "AudioNet is not trained in this book" in shown   # book.audionet is off: no AudioNet section
    assert "AlexNet beside AudioNet" not in shown and "Beside it" not in shown
    for text in (explained, information):
        assert "scottish" in text and "welsh" in text   # the corpus's own classes, by name
    assert "# Explanations: accent, fold 0, Grad-CAM" in explained and "actual scottish" in explained
    assert "AlexNet_accent_0" in information
    for text in (training, explained, information):
        assert "Traceback" not in text and "Error" not in text
