"""``xaispec evaluate-explanations``: measure how faithful, sane and robust the explanations of a model are."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .app import app
from .common import folds_of, open_run_dir, profile_with
from .exits import FAILED, friendly
from .explain import explain_params


@app.command("evaluate-explanations")
@friendly
def evaluate_explanations_cmd(
    corpus: str = typer.Argument(..., help="corpus of the run"),
    label: str = typer.Option(..., "--label", "-l", help="digit, gender, emotion, or a manifest's own label column"),
    fold: str = typer.Option("0", "--fold", "-f", help="fold number, 'random' or 'grouped'"),
    model: Optional[str] = typer.Option(None, help="alexnet (digit, gender), cnn1d or cnn2d (emotion)"),
    method: List[str] = typer.Option(None, "--method", "-m",
                                     help="explained method to measure (repeatable; default: every explained one); "
                                          "the random and energy floors are always measured"),
    samples: Optional[int] = typer.Option(None, help="explained test samples measured (default: the profile's)"),
    param: List[str] = typer.Option(None, "--param", "-p",
                                    help="METHOD.KEY=VALUE the maps were made with, for the checks that explain "
                                         "again (default: the profile's explainer parameters)"),
    seed: Optional[int] = typer.Option(None, help="seed of the metrics' draws (default: the profile's)"),
    force: bool = typer.Option(False, help="measure again even if the results are current"),
    profile: str = typer.Option("quick", help="run profile (its 'evaluate' section sets the counts)"),
    run_dir: Optional[Path] = typer.Option(None, help="run folder (default data/runs/CORPUS)"),
    corpus_root: Optional[Path] = typer.Option(None, help="folder the store was prepared from "
                                                          "(default data/raw/CORPUS); the sound metrics read it"),
    allow_failures: bool = typer.Option(False, help="exit 0 even if a method could not be measured"),
):
    """Measure the explanations of one model: faithfulness, masks and sound, sanity, robustness, complexity, agreement."""
    from ..errors import ParameterError
    from ..study.measure import measure, measure_paths
    from ..study.options import ExplainOptions

    p = profile_with(profile)
    run = open_run_dir(corpus, run_dir, p)
    folds = folds_of(run, label, fold, model)
    if len(folds) != 1:
        raise ParameterError(f"--fold {fold!r}: give one fold")
    task = run.task(label, folds[0], model)
    seed = p.get("seed") if seed is None else seed
    params = {**(p.get("book.explainer_params") or {}).get(task.model, {}), **explain_params(param)}
    options = ExplainOptions(params=params, seed=seed, corpus_root=corpus_root)
    result = measure(run, task, methods=list(method or []) or None, settings=p.get("evaluate"), options=options,
                     samples=samples, force=force)
    typer.echo(f"{task.name}: {len(result.sample_ids)} samples; measured {', '.join(result.measured) or 'none'}; "
               f"reused {', '.join(result.reused) or 'none'}; {result.forward} rows forward "
               f"-> {measure_paths(run, task)['summary']}")
    for f in result.failures:
        typer.echo(f"failed: {f.line()}", err=True)
    if result.failures:
        typer.echo(f"{len(result.failures)} measurement(s) failed; see the events log in {run.dir}", err=True)
        if not allow_failures:
            raise typer.Exit(FAILED)
