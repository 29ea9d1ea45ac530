"""``xaispec info ...``: what a model predicted, who is in a test fold, who is female or male."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .app import app, info_app
from .common import open_run_dir, profile_with
from .exits import friendly

app.add_typer(info_app, name="info")


@info_app.command("predictions")
@friendly
def info_predictions(
    corpus: str = typer.Argument(...),
    label: str = typer.Option(...),
    fold: str = typer.Option("0"),
    which: str = typer.Option("wrong", help="wrong, correct or all"),
    first: Optional[int] = typer.Option(None, help="only the first N"),
    model: Optional[str] = typer.Option(None),
    profile: str = typer.Option("quick"),
    run_dir: Optional[Path] = typer.Option(None),
):
    """The wrongly or correctly predicted test samples of one model."""
    from ..study.info import predictions

    p = profile_with(profile)
    run = open_run_dir(corpus, run_dir, p)
    table = predictions(run, run.task(label, fold, model), which=which, first=first)
    typer.echo(table.to_string(index=False) if len(table) else f"no {which} predictions")


@info_app.command("participants")
@friendly
def info_participants(
    corpus: str = typer.Argument(...),
    label: str = typer.Option(...),
    fold: str = typer.Option("0"),
    model: Optional[str] = typer.Option(None),
    profile: str = typer.Option("quick"),
    run_dir: Optional[Path] = typer.Option(None),
):
    """The participants in a model's test fold."""
    from ..study.info import test_participants

    p = profile_with(profile)
    run = open_run_dir(corpus, run_dir, p)
    typer.echo(test_participants(run, run.task(label, fold, model)).to_string(index=False))


@info_app.command("sex")
@friendly
def info_sex(
    corpus: str = typer.Argument(...),
    participants: Optional[List[str]] = typer.Argument(None, help="participant ids (all when none)"),
    profile: str = typer.Option("quick"),
    run_dir: Optional[Path] = typer.Option(None),
):
    """The sex of one, several or all participants."""
    from ..study.info import participant_sex

    p = profile_with(profile)
    typer.echo(participant_sex(open_run_dir(corpus, run_dir, p), participants or None).to_string(index=False))
