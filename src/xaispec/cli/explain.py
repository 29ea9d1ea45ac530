"""``xaispec explain``: explain trained models' predictions, in the study's three ways."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .app import app
from .common import folds_of, open_run_dir, profile_with
from .exits import FAILED, friendly


def explain_params(items: Optional[List[str]]) -> dict:
    """``METHOD.KEY=VALUE`` options as ``{method: {key: value}}`` (values read as YAML: 50, true, quickshift)."""
    import yaml

    from ..errors import ParameterError

    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        method, dot, name = key.strip().rpartition(".")
        if not sep or not dot or not method or not name:
            raise ParameterError(f"--param {item!r} must look like METHOD.KEY=VALUE, e.g. lime.num_samples=200")
        out.setdefault(method, {})[name] = yaml.safe_load(value)
    return out


@app.command("explain")
@friendly
def explain_cmd(
    corpus: str = typer.Argument(..., help="corpus of the run"),
    label: List[str] = typer.Option(..., "--label", "-l", help="digit, gender, emotion, or a manifest's own label column (repeatable: several models)"),
    fold: List[str] = typer.Option(["0"], "--fold", "-f", help="fold number, 'random', 'grouped' or 'all' (repeatable)"),
    model: Optional[str] = typer.Option(None, help="alexnet or audionet (digit, gender), cnn1d or cnn2d (emotion)"),
    method: List[str] = typer.Option(None, "--method", "-m",
                                     help="explanation method (repeatable; default: the model's set)"),
    mode: str = typer.Option("examples", help="examples (N per digit per sex), all or single"),
    n: int = typer.Option(1, "--n", help="examples per digit (emotion) and sex, 1-5"),
    sample_id: Optional[str] = typer.Option(None, help="explain this one test sample (one model)"),
    digit: Optional[int] = typer.Option(None, help="with --participant and --repetition: one test sample"),
    participant: Optional[str] = typer.Option(None, help="participant of the one sample"),
    repetition: Optional[int] = typer.Option(None, help="repetition of the one sample"),
    which: Optional[str] = typer.Option(None, help="wrong or correct: explain those test predictions (one model)"),
    first: Optional[int] = typer.Option(None, help="with --which: only the first N"),
    param: List[str] = typer.Option(None, "--param", "-p",
                                    help="METHOD.KEY=VALUE, e.g. lime.num_samples=200 (repeatable)"),
    top_percent: float = typer.Option(20.0, help="largest percentage of cells an audible explanation keeps "
                                                      "(cells with positive attribution only)"),
    scale_waveform: bool = typer.Option(False, help="min-max scale the waveform plots to [-1, 1]"),
    float32: bool = typer.Option(True, "--float32/--as-trained",
                                 help="explain a float32 copy of a mixed-precision model (default), or the model "
                                      "in the precision it was trained in"),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="draw figures and write sounds"),
    seed: Optional[int] = typer.Option(None, help="seed of sampling, LIME, SmoothGrad, SHAP (default: the profile's)"),
    force: bool = typer.Option(False, help="explain and draw again even if finished outputs exist"),
    profile: str = typer.Option("quick", help="run profile"),
    run_dir: Optional[Path] = typer.Option(None, help="run folder (default data/runs/CORPUS)"),
    corpus_root: Optional[Path] = typer.Option(None, help="folder the store was prepared from "
                                                          "(default data/raw/CORPUS)"),
    allow_failures: bool = typer.Option(False, help="exit 0 even if a method failed on some samples"),
):
    """Explain models' test samples: figures, audible explanations and result files (reused unless --force)."""
    from ..errors import ParameterError
    from ..study import stage
    from ..study.options import ExplainOptions

    p = profile_with(profile)
    run = open_run_dir(corpus, run_dir, p)
    seed = p.get("seed") if seed is None else seed
    params = explain_params(param)
    tasks = []
    for lab in label:
        for f in fold:
            folds = folds_of(run, lab, f, model)
            if f == "all":
                folds = [g for g in folds if run.model_path(run.task(lab, g, model)).is_file()]
            tasks += [run.task(lab, g, model) for g in folds]
    if not tasks:
        raise ParameterError(f"no trained models for labels {list(label)} and folds {list(fold)} (run 'xaispec train')")
    one = sample_id is not None or any(v is not None for v in (digit, participant, repetition))
    if one and which is not None:
        raise ParameterError("give either one sample (--sample-id or --digit/--participant/--repetition) or --which")
    if (one or which is not None) and len(tasks) != 1:
        raise ParameterError(f"one sample and --which explain one model; got {len(tasks)} "
                             f"({', '.join(t.name for t in tasks)}): give one --label and one --fold")
    if first is not None and which is None:
        raise ParameterError("--first needs --which wrong or --which correct")
    options = ExplainOptions(methods=list(method or []) or None, params=params, force=force,
                             top_percent=top_percent, scale_waveform=scale_waveform, corpus_root=corpus_root,
                             seed=seed, float32=float32, figures=figures)
    if one:
        results = [stage.explain_sample(run, tasks[0], options, sample_id=sample_id, digit=digit,
                                        participant=participant, repetition=repetition)]
    elif which is not None:
        results = [stage.explain_predictions(run, tasks[0], options, which=which, first=first)]
    else:
        results = stage.explain_models(run, tasks, options, mode=mode, n=n)
    failures = []
    for res in results:
        if res.samples.empty:
            typer.echo(f"{res.task.name}: no samples selected")
        for name, m in res.methods.items():
            typer.echo(f"{res.task.name} {name}: {m.explained} explained, {m.reused} reused, "
                       f"{len(m.failures)} failed -> {m.csv}")
        failures += res.failures
    for f in failures:
        typer.echo(f"failed: {f.line()}", err=True)
    if failures:
        typer.echo(f"{len(failures)} explanation(s) failed; see the events log in {run.dir}", err=True)
        if not allow_failures:
            raise typer.Exit(FAILED)
