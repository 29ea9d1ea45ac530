"""What one method explained of one model, as the explanations chapter shows it: the book's
samples that have results, how many of each kind, the method's parameters, the galleries of
examples and of correct and wrong predictions, the per-sample panels with their sound, the
time taken and the failures."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..figures.paths import method_name
from ..models.runs import Run, ModelSpec
from .results import result_paths, sample_paths

#: the label of the player of a sample's recording
RECORDING_LABEL = "the recording (8 kHz, as the model heard it)"


@dataclass
class Explained:
    """The explanations of one model by one method.

    Attributes
    ----------
    run : Run
    task : ModelSpec
    method : str
        The method's name (``gradcam``).
    name : str
        Its name in captions (``Grad-CAM``).
    samples : pandas.DataFrame
        The book's samples of the model that were explained, in the book's order, with
        their ``section`` (:func:`xaispec.study.steps.book_samples`).
    results : pandas.DataFrame
        The method's result rows (text), indexed by ``sample_id``.
    record : dict
        The method's JSON record (parameters, failures, ``top_percent``).
    """

    run: Run
    task: ModelSpec
    method: str
    name: str
    samples: pd.DataFrame
    results: pd.DataFrame
    record: dict

    def file(self, row, kind: str = "figure") -> Path:
        """A file of the sample ``row`` named in the results: ``figure``, ``panel`` or ``wav``."""
        return self.run.dir / self.results.loc[row["sample_id"], kind]


def explained_samples(samples: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``samples`` that have a result (``results`` indexed by ``sample_id``), in order."""
    return samples[samples["sample_id"].isin(results.index)].reset_index(drop=True)


def load_explained(run: Run, task: ModelSpec, method: str, options: dict, *, seed: int = 0) -> Explained:
    """Read the results of ``method`` on ``task`` and the book's samples they cover.

    Parameters
    ----------
    run : Run
    task : ModelSpec
    method : str
    options : dict
        What the book explains of the model (:func:`xaispec.book.explain_options`).
    seed : int
        The profile's seed (the samples drawn per digit and sex).
    """
    from .steps import book_samples

    csv, _, record_path = result_paths(run, task, method)
    results = pd.read_csv(csv, dtype=str, keep_default_na=False).drop_duplicates("sample_id").set_index("sample_id")
    record = json.loads(record_path.read_text())
    samples = explained_samples(book_samples(run, task, options, seed=seed), results)
    return Explained(run, task, method, method_name(method), samples, results, record)


def params_text(params: dict) -> str:
    """A method's parameters as ``k=v, ...`` (the batch size left out), or ``defaults``."""
    return ", ".join(f"{k}={v}" for k, v in params.items() if k != "batch_size") or "defaults"


def explained_facts(ex: Explained) -> dict:
    """The numbers and words of the chapter's introduction.

    Returns
    -------
    dict
        ``label`` and ``fold`` of the model; ``explained`` (samples), ``examples``,
        ``more_wrong`` and ``more_correct`` (the samples of each section), ``wrong`` and
        ``correct`` (all the explained samples predicted so), ``params``
        (:func:`params_text`).
    """
    section = ex.samples["section"]
    correct = ex.samples["correct"].astype(bool)
    return {"label": ex.task.label, "fold": ex.task.fold, "explained": len(ex.samples),
            "examples": int((section == "examples").sum()), "more_wrong": int((section == "wrong").sum()),
            "more_correct": int((section == "correct").sum()), "wrong": int((~correct).sum()),
            "correct": int(correct.sum()), "params": params_text(ex.record.get("params", {}))}


def sample_caption(row, what: str) -> str:
    """The caption of a sample's figure: ``what`` of the sample, its digit (when it has one),
    speaker and sex, the actual and predicted class and whether they agree."""
    digit = f"digit {row['digit']}, " if "digit" in row and pd.notna(row.get("digit")) else ""
    verdict = "correct" if row["correct"] else "wrong"
    return (f"{what} of {row['sample_id']}: {digit}participant {row['participant']} ({row['sex']}); "
            f"actual {row['actual']}, predicted {row['predicted']} ({verdict}).")


def _items(ex: Explained, rows: pd.DataFrame, prefix: str) -> list[tuple]:
    return [(ex.file(r), sample_caption(r, ex.name), f"{prefix}-{i}") for i, (_, r) in enumerate(rows.iterrows())]


def example_figures(ex: Explained) -> list[tuple]:
    """The study's figures of the ``examples`` section, ordered by digit and sex, as
    ``(path, caption, name)`` for :meth:`xaispec.book.Page.gallery`."""
    examples = ex.samples[ex.samples["section"] == "examples"]
    order = [c for c in ("digit", "sex") if c in examples.columns]
    return _items(ex, examples.sort_values(order) if order else examples, "example")


def prediction_figures(ex: Explained, correct: bool) -> list[tuple]:
    """The figures of every explained sample predicted correctly (or wrongly), in order."""
    right = ex.samples["correct"].astype(bool)
    return _items(ex, ex.samples[right if correct else ~right], "correct" if correct else "wrong")


@dataclass
class Panel:
    """A sample's panel and its sound, as the chapter shows them."""

    heading: str
    figure: Path
    caption: str
    name: str
    #: the recording's WAV, None when it was not written
    recording: Path | None
    #: the audible explanation's WAV, None when the method wrote none
    audible: Path | None
    audible_label: str


def sample_panels(ex: Explained) -> list[Panel]:
    """The panels of the samples beyond the examples (the first two samples when there are
    none), with the recording and the audible explanation of each."""
    chosen = ex.samples[ex.samples["section"] != "examples"]
    if chosen.empty:
        chosen = ex.samples.head(2)
    top = ex.record.get("top_percent", 20)
    panels = []
    for i, (_, row) in enumerate(chosen.iterrows()):
        clip = sample_paths(ex.run, ex.task, row)["waveform_wav"]
        panels.append(Panel(
            heading=f"### {row['sample_id']}: actual {row['actual']}, predicted {row['predicted']}",
            figure=ex.file(row, "panel"), caption=sample_caption(row, f"{ex.name} panel"), name=f"panel-{i}",
            recording=clip if clip.is_file() else None,
            audible=ex.file(row, "wav") if ex.results.loc[row["sample_id"], "wav"] else None,
            audible_label=f"audible explanation: the map's positive evidence, at most its top {top:g}% cells"))
    return panels


def runtime_facts(ex: Explained) -> dict:
    """``runtime_mean`` and ``runtime_median`` (seconds per explained sample) and ``runtime_n``
    (the samples timed)."""
    runtime = pd.to_numeric(ex.results.loc[ex.samples["sample_id"], "runtime"], errors="coerce")
    return {"runtime_mean": float(runtime.mean()), "runtime_median": float(runtime.median()), "runtime_n": len(runtime)}


def failures_table(ex: Explained) -> pd.DataFrame:
    """The samples the method failed on, one row each (as recorded)."""
    return pd.DataFrame(ex.record.get("failures", []))
