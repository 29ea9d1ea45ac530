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

from .errors import XaispecError

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
    from .config import Paths

    return Paths.default()


def _profile(name: str, overrides: dict | None = None):
    from .config import load_profile

    profile = load_profile(name)
    return profile.with_overrides({k: v for k, v in (overrides or {}).items() if v is not None})


def _root(corpus: str, source: Optional[Path]) -> Path:
    """The corpus folder: ``--source`` when given, else ``data/raw/<corpus>``."""
    from .data.corpora import get_corpus

    spec = get_corpus(corpus)
    if spec.layout == "manifest":
        return Path(corpus)
    return Path(source) if source else _paths().corpus(spec.name)


@app.command()
@friendly
def version():
    """Print the version, the git commit and key package versions."""
    from .provenance import record

    rec = record()
    typer.echo(f"xaispec {rec['versions']['xaispec']} (commit {rec['git_commit']})")
    for name, ver in rec["versions"].items():
        typer.echo(f"  {name} {ver}")


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
    from .errors import ParameterError

    if kind not in ("digits", "emotions"):
        raise ParameterError(f"kind={kind!r} is not one of ['digits', 'emotions']")
    from .data import synth

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
    from .data import download as dl
    from .events import EventLog

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
    from ._io import write_text_atomic
    from .data.corpora import index_corpus, speakers_table

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
    from .data.corpora import get_corpus
    from .data.prepare import prepare as run

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
    from .data.corpora import LABELS, get_corpus, index_corpus
    from .data.splits import write_splits
    from .errors import ParameterError

    p = _profile(profile)
    spec = get_corpus(corpus)
    table, skips = index_corpus(corpus, _root(corpus, source))
    labels = label or list(LABELS.get(spec.kind, ()))
    if not labels:
        raise ParameterError(f"corpus {corpus!r} has no default labels: give --label")
    run_dir = run_dir or _paths().run(spec.name)
    from .data.splits import speaker_folds

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
    from .data.corpora import get_corpus
    from .runs import Run

    spec = get_corpus(corpus)
    paths = _paths()
    return Run(run_dir or paths.run(spec.name), paths.processed / spec.name, mode=profile.get("prepare.mode"))


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
    from .train import train

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
    from .evaluate import evaluate, summarize

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
        from .evaluate import compare_protocols

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
    from .info import predictions

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
    from .info import test_participants

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
    from .info import participant_sex

    p = _profile(profile)
    typer.echo(participant_sex(_run(corpus, run_dir, p), participants or None).to_string(index=False))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
