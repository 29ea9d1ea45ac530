"""``xaispec train`` and ``xaispec evaluate``: train and evaluate models, fold by fold."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import folds_of, open_run_dir, profile_with
from .exits import friendly
from ..errors import XaispecError


@app.command("train")
@friendly
def train_cmd(
    corpus: str = typer.Argument(..., help="corpus whose stores and splits to use"),
    label: str = typer.Option(..., help="digit, gender, emotion, or a manifest's own label column"),
    fold: str = typer.Option("0", help="fold number, 'random' (the emotion study's leaky split), 'grouped' (that split without its copy leak) or 'all'"),
    model: Optional[str] = typer.Option(None, help="alexnet or audionet (digit, gender), cnn1d or cnn2d (emotion)"),
    profile: str = typer.Option("quick", help="run profile (epochs, batch size, learning rate, ...)"),
    run_dir: Optional[Path] = typer.Option(None, help="run folder (default data/runs/CORPUS)"),
    from_model: Optional[Path] = typer.Option(None, help="use this trained Keras model instead of training"),
    epochs: Optional[int] = typer.Option(None, help="override the profile's epochs"),
    force: bool = typer.Option(False, help="train again even if an up-to-date model exists"),
):
    """Train models (checkpointed every epoch; a rerun resumes or reuses)."""
    from ..models.train import train

    p = profile_with(profile)
    run = open_run_dir(corpus, run_dir, p)
    for f in folds_of(run, label, fold, model):
        task = run.task(label, f, model)
        result = train(run, task, p, from_model=from_model, epochs=epochs, force=force)
        state = "up to date" if result.reused else f"trained in {result.seconds:.0f} s"
        typer.echo(f"{result.model_path}: {state}")


@app.command("evaluate")
@friendly
def evaluate_cmd(
    corpus: str = typer.Argument(..., help="corpus of the run"),
    label: str = typer.Option(..., help="digit, gender, emotion, or a manifest's own label column"),
    fold: str = typer.Option("all", help="fold number, 'random', 'grouped' or 'all' (every trained fold)"),
    model: Optional[str] = typer.Option(None, help="alexnet, audionet, cnn1d or cnn2d"),
    profile: str = typer.Option("quick", help="run profile"),
    run_dir: Optional[Path] = typer.Option(None, help="run folder (default data/runs/CORPUS)"),
):
    """Predict the test folds; write predictions, metrics, confusion matrices and the means."""
    from ..models.evaluate import evaluate, summarize

    p = profile_with(profile)
    run = open_run_dir(corpus, run_dir, p)
    folds = folds_of(run, label, fold, model)
    if fold == "all":
        folds = [f for f in folds if run.model_path(run.task(label, f, model)).is_file()]
        if not folds:
            raise XaispecError(f"no trained {label} models in {run.dir / 'models'} (run 'xaispec train')")
    done = []
    for f in folds:
        task = run.task(label, f, model)
        scores = evaluate(run, task)
        done.append(f)
        typer.echo(f"{task.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    task = run.task(label, done[0], model)
    from ..data.splits import PROTOCOLS

    numbered = [f for f in done if f not in PROTOCOLS]   # the emotion protocols are not folds
    if numbered:
        summary = summarize(run, label, task.model, numbered)
        typer.echo(f"mean over folds {numbered}: accuracy {summary['evaluation'].loc['mean', 'accuracy']:.3f}")
    if label == "emotion" and task.model == "cnn1d" and "random" in done and numbered:
        from ..models.evaluate import compare_protocols

        table = compare_protocols(run, numbered)
        typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
