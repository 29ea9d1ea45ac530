"""The ``xaispec`` command line: a thin layer over the library.

Exit codes: 0 done; 1 error (one line naming the file or value); 2 usage error;
3 done, but some files were skipped (listed, and in the skipped-files report) and
``--allow-skips`` was not given.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import XaispecError

EXIT_SKIPPED = 3

app = typer.Typer(help="Explainable AI for spectrogram-based audio classification.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Corpora: download, synthesize, index, prepare stores, make splits.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")


def friendly(fn):
    """Turn an XaispecError into its one-line message on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except XaispecError as exc:
            typer.echo(f"xaispec: error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def _paths():
    from ..config import Paths

    return Paths.default()


def _profile(name: str, overrides: dict | None = None):
    from ..config import load_profile

    profile = load_profile(name)
    return profile.with_overrides({k: v for k, v in (overrides or {}).items() if v is not None})


def _root(corpus: str, source: Optional[Path]) -> Path:
    """The corpus folder: ``--source`` when given, else ``data/raw/<corpus>``."""
    from ..data.corpora import get_corpus

    spec = get_corpus(corpus)
    if spec.layout == "manifest":
        return Path(corpus)
    return Path(source) if source else _paths().corpus(spec.name)


@app.command()
@friendly
def version():
    """Print the version, the git commit and key package versions."""
    from ..provenance import record

    rec = record()
    typer.echo(f"xaispec {rec['versions']['xaispec']} (commit {rec['git_commit']})")
    for name, ver in rec["versions"].items():
        typer.echo(f"  {name} {ver}")


@app.command()
@friendly
def system(
    probe: bool = typer.Option(True, "--probe/--no-probe", help="time AlexNet training and inference (about 10 s)"),
    seconds: float = typer.Option(2.0, help="seconds each throughput measurement lasts"),
    json_out: bool = typer.Option(False, "--json", help="print the report as JSON"),
):
    """What this machine is and will do: processor features, cores, GPUs, the precision that
    train.mixed_precision: auto picks and why, and AlexNet images/s in each precision."""
    import json

    from ..machine import report, report_lines

    rep = report(seconds=seconds, probe=probe)
    typer.echo(json.dumps(rep, indent=2, default=str) if json_out else "\n".join(report_lines(rep)))


@app.command()
@friendly
def profile(name: str = typer.Argument("quick", help="smoke, quick, full or a YAML path")):
    """Show a validated run profile."""
    import yaml

    p = _profile(name)
    typer.echo(f"# profile {p.name} ({p.source})")
    typer.echo(yaml.safe_dump(p.values, sort_keys=False).rstrip())


@data_app.command("synthesize")
@friendly
def synthesize(
    kind: str = typer.Argument(..., help="digits (AudioMNIST layout) or emotions (RAVDESS layout)"),
    profile: str = typer.Option("quick", help="run profile giving the corpus size"),
    out: Optional[Path] = typer.Option(None, help="folder (default data/raw/synthetic-KIND)"),
    repetitions: Optional[int] = typer.Option(None, help="override the profile's repetitions"),
    force: bool = typer.Option(False, help="rebuild even if a corpus with other settings exists"),
):
    """Synthesize an offline demo corpus with espeak-ng (stored once, with a manifest)."""
    from ..errors import ParameterError

    if kind not in ("digits", "emotions"):
        raise ParameterError(f"kind={kind!r} is not one of ['digits', 'emotions']")
    from ..data import synth

    p = _profile(profile, {f"synthetic.{kind}.repetitions": repetitions})
    cfg = p.get(f"synthetic.{kind}")
    out = out or _paths().corpus(f"synthetic-{kind}")
    if kind == "digits":
        path = synth.synthesize_digits(out, participants=cfg["participants"], repetitions=cfg["repetitions"],
                                       sample_rate=cfg["sample_rate"], seed=p.get("seed"), force=force)
    else:
        path = synth.synthesize_emotions(out, actors=cfg["actors"], repetitions=cfg["repetitions"],
                                         sample_rate=cfg["sample_rate"], seed=p.get("seed"), force=force)
    typer.echo(f"corpus ready: {path}")


@data_app.command("download")
@friendly
def download(
    corpus: str = typer.Argument(..., help="audiomnist, ravdess or fsdd"),
    source: Optional[str] = typer.Option(None, help="URL, local archive or local folder "
                                                    "(default: the corpus's official URL)"),
    force: bool = typer.Option(False, help="extract again even if a complete copy exists"),
):
    """Download (resumable, verified) and extract a real corpus into data/raw/CORPUS."""
    from ..data import fetch as dl
    from ..events import EventLog

    paths = _paths()
    root = dl.fetch(corpus, source=source, dest=paths.corpus(corpus), downloads_dir=paths.downloads,
                    force=force, log=EventLog(paths.raw))
    typer.echo(f"corpus ready: {root}")


def _report_skips(result, allow_skips: bool) -> None:
    for s in result.skipped:
        typer.echo(f"skipped: {s.line()}", err=True)
    if result.skipped:
        typer.echo(f"{len(result.skipped)} file(s) skipped; report: {result.report}", err=True)
        if not allow_skips:
            raise typer.Exit(EXIT_SKIPPED)


@data_app.command("index")
@friendly
def index(
    corpus: str = typer.Argument(..., help="corpus name or manifest .csv"),
    source: Optional[Path] = typer.Option(None, help="corpus folder (default data/raw/CORPUS)"),
    out: Optional[Path] = typer.Option(None, help="write the index table to this CSV"),
):
    """Index a corpus: one row per recording; print speaker statistics."""
    from .._io import write_text_atomic
    from ..data.corpora import index_corpus, speakers_table

    table, skips = index_corpus(corpus, _root(corpus, source))
    for s in skips:
        typer.echo(f"skipped: {s.line()}", err=True)
    if out:
        write_text_atomic(out, table.to_csv(index=False))
    typer.echo(f"{len(table)} recordings, {table['speaker'].nunique()} speakers, {len(skips)} skipped")
    typer.echo(speakers_table(table).to_string(index=False))


@data_app.command("prepare")
@friendly
def prepare(
    corpus: str = typer.Argument(..., help="corpus name or manifest .csv"),
    source: Optional[Path] = typer.Option(None, help="corpus folder (default data/raw/CORPUS)"),
    representation: List[str] = typer.Option(
        None, "--representation", "-r",
        help="alexnet, mel128, mel2d (repeatable; default alexnet for digits, all three for emotions)"),
    profile: str = typer.Option("quick", help="run profile"),
    mode: Optional[str] = typer.Option(None, help="exact (the study's resampler) or fast (soxr)"),
    long_clips: Optional[str] = typer.Option(None, help="crop (loudest second, flagged) or error"),
    workers: Optional[int] = typer.Option(None, help="processes"),
    limit: Optional[int] = typer.Option(None, help="only the first N recordings"),
    force: bool = typer.Option(False, help="rebuild even if the store is up to date"),
    allow_skips: bool = typer.Option(False, help="exit 0 even if files were skipped"),
):
    """Prepare stores data/processed/CORPUS/REPRESENTATION.h5 (parallel, resumable)."""
    from ..data.corpora import get_corpus
    from ..data.prepare import prepare as run

    p = _profile(profile, {"prepare.mode": mode, "prepare.long_clips": long_clips,
                           "prepare.workers": workers})
    spec = get_corpus(corpus)
    reps = representation or (["alexnet"] if spec.kind != "emotions" else ["alexnet", "mel128", "mel2d"])
    skipped_any = []
    for rep in reps:
        result = run(corpus, _root(corpus, source), out_dir=_paths().processed / spec.name,
                     representation=rep, mode=p.get("prepare.mode"),
                     long_clips=p.get("prepare.long_clips"), seed=p.get("seed"),
                     workers=p.get("prepare.workers"), chunk_size=p.get("prepare.chunk_size"),
                     force=force, limit=limit)
        state = "up to date" if result.reused else "written"
        typer.echo(f"{result.store}: {result.n_samples} samples {state}")
        if result.skipped:
            skipped_any.append(result)
    for result in skipped_any:
        _report_skips(result, allow_skips=True)
    if skipped_any and not allow_skips:
        raise typer.Exit(EXIT_SKIPPED)


@data_app.command("splits")
@friendly
def splits(
    corpus: str = typer.Argument(..., help="corpus name or manifest .csv"),
    source: Optional[Path] = typer.Option(None, help="corpus folder (default data/raw/CORPUS)"),
    label: List[str] = typer.Option(None, "--label", "-l",
                                    help="digit, gender, emotion (repeatable; default: the corpus's labels)"),
    run_dir: Optional[Path] = typer.Option(None, help="run folder (default data/runs/CORPUS)"),
    profile: str = typer.Option("quick", help="run profile (fold count, seed)"),
):
    """Write speaker-disjoint split files under RUN/splits (the study's names)."""
    from ..data.corpora import LABELS, get_corpus, index_corpus
    from ..data.splits import write_splits
    from ..errors import ParameterError

    p = _profile(profile)
    spec = get_corpus(corpus)
    table, skips = index_corpus(corpus, _root(corpus, source))
    labels = label or list(LABELS.get(spec.kind, ()))
    if not labels:
        raise ParameterError(f"corpus {corpus!r} has no default labels: give --label")
    run_dir = run_dir or _paths().run(spec.name)
    from ..data.splits import speaker_folds

    feasible = []
    for lab in labels:
        try:
            speaker_folds(table, label=lab, n_folds=p.get("splits.n_folds"), seed=p.get("seed"))
            feasible.append(lab)
        except ParameterError as exc:
            if label:  # asked for explicitly: an error
                raise
            typer.echo(f"{lab}: no folds ({exc})", err=True)
    if not feasible:
        raise ParameterError(f"no splits could be made for {corpus!r}")
    files = write_splits(table, run_dir, labels=feasible, n_folds=p.get("splits.n_folds"), seed=p.get("seed"))
    typer.echo(f"{', '.join(feasible)}: {len(files)} files in {run_dir / 'splits'}")


# ---------------------------------------------------------------- training and evaluation

info_app = typer.Typer(help="Input information: predictions, test participants, sexes.", no_args_is_help=True)
app.add_typer(info_app, name="info")


def _run(corpus: str, run_dir: Optional[Path], profile):
    from ..models.runs import open_run

    return open_run(corpus, _paths().root, profile, run_dir=run_dir)


def _folds(run, label: str, fold: str, model: Optional[str]) -> list:
    if fold == "all":
        folds = [f for f in run.folds(label) if f != "random" or (model or "cnn1d") == "cnn1d" and label == "emotion"]
        if not folds:
            run.task(label, 0, model)  # raises the error naming the missing splits
        return folds
    return [fold]


@app.command("train")
@friendly
def train_cmd(
    corpus: str = typer.Argument(..., help="corpus whose stores and splits to use"),
    label: str = typer.Option(..., help="digit, gender or emotion"),
    fold: str = typer.Option("0", help="fold number, 'random' (emotion study's leaky split) or 'all'"),
    model: Optional[str] = typer.Option(None, help="alexnet (digit, gender), cnn1d or cnn2d (emotion)"),
    profile: str = typer.Option("quick", help="run profile (epochs, batch size, learning rate, ...)"),
    run_dir: Optional[Path] = typer.Option(None, help="run folder (default data/runs/CORPUS)"),
    from_model: Optional[Path] = typer.Option(None, help="use this trained Keras model instead of training"),
    epochs: Optional[int] = typer.Option(None, help="override the profile's epochs"),
    force: bool = typer.Option(False, help="train again even if an up-to-date model exists"),
):
    """Train models (checkpointed every epoch; a rerun resumes or reuses)."""
    from ..models.train import train

    p = _profile(profile)
    run = _run(corpus, run_dir, p)
    for f in _folds(run, label, fold, model):
        task = run.task(label, f, model)
        result = train(run, task, p, from_model=from_model, epochs=epochs, force=force)
        state = "up to date" if result.reused else f"trained in {result.seconds:.0f} s"
        typer.echo(f"{result.model_path}: {state}")


@app.command("evaluate")
@friendly
def evaluate_cmd(
    corpus: str = typer.Argument(..., help="corpus of the run"),
    label: str = typer.Option(..., help="digit, gender or emotion"),
    fold: str = typer.Option("all", help="fold number, 'random' or 'all' (every trained fold)"),
    model: Optional[str] = typer.Option(None, help="alexnet, cnn1d or cnn2d"),
    profile: str = typer.Option("quick", help="run profile"),
    run_dir: Optional[Path] = typer.Option(None, help="run folder (default data/runs/CORPUS)"),
):
    """Predict the test folds; write predictions, metrics, confusion matrices and the means."""
    from ..models.evaluate import evaluate, summarize

    p = _profile(profile)
    run = _run(corpus, run_dir, p)
    folds = _folds(run, label, fold, model)
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
    numbered = [f for f in done if f != "random"]
    if numbered:
        summary = summarize(run, label, task.model, numbered)
        typer.echo(f"mean over folds {numbered}: accuracy {summary['evaluation'].loc['mean', 'accuracy']:.3f}")
    if label == "emotion" and task.model == "cnn1d" and "random" in done and numbered:
        from ..models.evaluate import compare_protocols

        table = compare_protocols(run, numbered)
        typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


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

    p = _profile(profile)
    run = _run(corpus, run_dir, p)
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

    p = _profile(profile)
    run = _run(corpus, run_dir, p)
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

    p = _profile(profile)
    typer.echo(participant_sex(_run(corpus, run_dir, p), participants or None).to_string(index=False))


# ---------------------------------------------------------------- explanations

def _explain_params(items: Optional[List[str]]) -> dict:
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
    label: List[str] = typer.Option(..., "--label", "-l", help="digit, gender or emotion (repeatable: several models)"),
    fold: List[str] = typer.Option(["0"], "--fold", "-f", help="fold number, 'random' or 'all' (repeatable)"),
    model: Optional[str] = typer.Option(None, help="alexnet (digit, gender), cnn1d or cnn2d (emotion)"),
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
    top_percent: float = typer.Option(20.0, help="percentage of cells an audible explanation keeps"),
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

    p = _profile(profile)
    run = _run(corpus, run_dir, p)
    seed = p.get("seed") if seed is None else seed
    params = _explain_params(param)
    tasks = []
    for lab in label:
        for f in fold:
            folds = _folds(run, lab, f, model)
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
            raise typer.Exit(EXIT_SKIPPED)


# ---------------------------------------------------------------- the book

def _book_progress(result) -> None:
    """Print a failed task as soon as it is known (above the progress bar)."""
    from tqdm.auto import tqdm

    if result.state == "failed":
        tqdm.write(f"failed: {result.id}: {result.error}")


def _book_report(outcome) -> None:
    """Summary, every failure (with the failing cell for pages), then exit 1 if anything failed."""
    result = outcome.result
    typer.echo(result.summary())
    for r in result.failures:
        typer.echo(f"failed: {r.id}: {r.error}", err=True)
    if result.blocked:
        typer.echo(f"not run because something they need failed: {', '.join(r.id for r in result.blocked[:8])}"
                   + (f" and {len(result.blocked) - 8} more" if len(result.blocked) > 8 else ""), err=True)
    book = result.results.get("book")
    if book is not None and book.ok:
        typer.echo(f"book: {outcome.html}")
    if not result.ok:
        raise typer.Exit(1)


@app.command("book")
@friendly
def book_cmd(
    profile: str = typer.Option("quick", help="run profile: smoke, quick, full or a YAML path; its book: section "
                                              "says what the book contains"),
    corpus: List[str] = typer.Option(None, "--corpus", help="synthetic (offline), real (AudioMNIST + RAVDESS), fsdd, "
                                                            "audiomnist, ravdess, a manifest .csv or a corpus folder "
                                                            "(repeatable; default: the profile's book.corpus)"),
    executor: Optional[str] = typer.Option(None, help="local, dask or dask:SCHEDULER-ADDRESS "
                                                      "(default: the profile's book.executor)"),
    rerun: bool = typer.Option(False, help="execute every page again, even when up to date"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list the tasks that would run, run nothing"),
):
    """Run what the book is missing (data, models, evaluations, explanations, pages), then build it.

    The pages are chapters/*.ipynb executed with papermill into book/; the HTML is
    _build/html/index.html. A failing page is reported with its cell and error, the other
    pages are still executed and the book still built; the exit code is then 1.
    """
    from ..book.build import BookPlan, resolve_corpora, run_book

    p = _profile(profile)
    paths = _paths()
    if dry_run:
        corpora = resolve_corpora(corpus, p.get("book.corpus")) if corpus else None
        plan = BookPlan(p, paths, corpora)
        graph = plan.graph()
        stale = graph.stale()
        typer.echo(f"{len(stale)} of {len(graph)} tasks would run:")
        for tid in stale:
            typer.echo(f"  {tid}")
        return
    outcome = run_book(p, paths, corpus=corpus or None, executor=executor, rerun=rerun, on_result=_book_progress)
    _book_report(outcome)


@app.command("chapter", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@friendly
def chapter_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="preface, survey, data, training, explanations, information, emotions "
                                         "or reproducibility"),
    profile: Optional[str] = typer.Option(None, help="run profile (default: the one of the last 'xaispec book' here)"),
    corpus: List[str] = typer.Option(None, "--corpus", help="as for 'xaispec book' (default: the last book's)"),
    executor: Optional[str] = typer.Option(None, help="local, dask or dask:SCHEDULER-ADDRESS"),
):
    """Execute one chapter with new parameters (running what it needs first) and rebuild the book.

    Parameters of the page: -p NAME VALUE (repeatable), e.g.

        xaispec chapter explanations -p label gender -p fold 2 -p explainer lime
    """
    from ..book.build import run_chapter
    from ..errors import ParameterError

    params, args, i = {}, list(ctx.args), 0
    while i < len(args):
        flag = args[i]
        if flag not in ("-p", "--param"):
            typer.echo(f"xaispec: error: unexpected argument {flag!r}: give page parameters as -p NAME VALUE", err=True)
            raise typer.Exit(2)
        rest = args[i + 1:i + 3]
        if rest and "=" in rest[0]:
            key, value = rest[0].split("=", 1)
            i += 2
        elif len(rest) == 2 and rest[1] not in ("-p", "--param"):
            key, value = rest
            i += 3
        else:
            typer.echo(f"xaispec: error: {flag} needs a name and a value, e.g. -p label gender", err=True)
            raise typer.Exit(2)
        params[key] = value
    try:
        outcome = run_chapter(name, params, _paths(), profile=_profile(profile) if profile else None,
                              corpus=corpus or None, executor=executor, on_result=_book_progress)
    except ParameterError as exc:
        typer.echo(f"xaispec: error: {exc}", err=True)
        raise typer.Exit(2) from None
    _book_report(outcome)


def main() -> None:
    from ..quiet import filter_native_stderr

    filter_native_stderr()  # TensorFlow's start-up lines stay out of the terminal
    app()


if __name__ == "__main__":
    main()
