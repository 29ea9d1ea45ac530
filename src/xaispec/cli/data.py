"""``xaispec data ...``: synthesize or download corpora, index them, prepare stores, write splits."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .app import data_app
from .common import corpus_root, project_paths, profile_with
from .exits import SKIPPED, friendly


@data_app.command("synthesize")
@friendly
def synthesize(
    kind: str = typer.Argument(..., help="digits (AudioMNIST layout), emotions (RAVDESS layout) "
                                          "or cues (planted-cue corpora)"),
    profile: str = typer.Option("quick", help="run profile giving the corpus size"),
    out: Optional[Path] = typer.Option(None, help="folder (default data/raw/synthetic-KIND, "
                                                  "data/raw/synthetic-cues-CUE for cues)"),
    repetitions: Optional[int] = typer.Option(None, help="override the profile's repetitions "
                                                         "(for cues: clips per class per speaker)"),
    cue: Optional[str] = typer.Option(None, "--kind", help="cues only: tone (default), noise, clicks, pair or all"),
    force: bool = typer.Option(False, help="rebuild even if a corpus with other settings exists"),
):
    """Synthesize an offline demo corpus with espeak-ng (stored once, with a manifest)."""
    from ..errors import ParameterError

    if kind not in ("digits", "emotions", "cues"):
        raise ParameterError(f"kind={kind!r} is not one of ['digits', 'emotions', 'cues']")
    if cue is not None and kind != "cues":
        raise ParameterError(f"--kind {cue!r} applies to cues only, not to {kind}")
    from ..data import synth

    if kind == "cues":
        _synthesize_cues(cue or "tone", profile=profile, out=out, clips=repetitions, force=force)
        return
    p = profile_with(profile, {f"synthetic.{kind}.repetitions": repetitions})
    cfg = p.get(f"synthetic.{kind}")
    out = out or project_paths().corpus(f"synthetic-{kind}")
    if kind == "digits":
        path = synth.synthesize_digits(out, participants=cfg["participants"], repetitions=cfg["repetitions"],
                                       sample_rate=cfg["sample_rate"], seed=p.get("seed"), force=force)
    else:
        path = synth.synthesize_emotions(out, actors=cfg["actors"], repetitions=cfg["repetitions"],
                                         sample_rate=cfg["sample_rate"], seed=p.get("seed"), force=force)
    typer.echo(f"corpus ready: {path}")


def _synthesize_cues(cue: str, *, profile: str, out: Optional[Path], clips: Optional[int], force: bool) -> None:
    """``synthesize cues``: one planted-cue corpus, or the four with ``--kind all``."""
    from ..data import synth
    from ..errors import ParameterError

    if cue != "all" and cue not in synth.CUE_KINDS:
        raise ParameterError(f"--kind {cue!r} is not one of {[*synth.CUE_KINDS, 'all']}")
    if cue == "all" and out is not None:
        raise ParameterError(f"--out {out} names one corpus folder: give --kind one of {list(synth.CUE_KINDS)}")
    p = profile_with(profile, {"synthetic.cues.clips": clips})
    cfg = p.get("synthetic.cues")
    for one in synth.CUE_KINDS if cue == "all" else (cue,):
        path = synth.synthesize_cues(out or project_paths().corpus(f"synthetic-cues-{one}"), kind=one,
                                     speakers=cfg["speakers"], clips=cfg["clips"], classes=cfg["classes"],
                                     level_db=cfg["level_db"], clip_seconds=cfg["clip_seconds"],
                                     band=tuple(cfg["band"]), sample_rate=cfg["sample_rate"], seed=p.get("seed"),
                                     force=force)
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
    from ..data.fetch import fetch
    from ..events import EventLog

    paths = project_paths()
    root = fetch(corpus, source=source, dest=paths.corpus(corpus), downloads_dir=paths.downloads,
                 force=force, log=EventLog(paths.raw))
    typer.echo(f"corpus ready: {root}")


def report_skips(result, allow_skips: bool) -> None:
    for s in result.skipped:
        typer.echo(f"skipped: {s.line()}", err=True)
    if result.skipped:
        typer.echo(f"{len(result.skipped)} file(s) skipped; report: {result.report}", err=True)
        if not allow_skips:
            raise typer.Exit(SKIPPED)


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

    table, skips = index_corpus(corpus, corpus_root(corpus, source))
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
        help="alexnet, audionet, mel128, mel2d (repeatable; default alexnet for digits; alexnet, mel128 and "
             "mel2d for emotions)"),
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

    p = profile_with(profile, {"prepare.mode": mode, "prepare.long_clips": long_clips,
                           "prepare.workers": workers})
    spec = get_corpus(corpus)
    reps = representation or (["alexnet"] if spec.kind != "emotions" else ["alexnet", "mel128", "mel2d"])
    skipped_any = []
    for rep in reps:
        result = run(corpus, corpus_root(corpus, source), out_dir=project_paths().processed / spec.name,
                     representation=rep, mode=p.get("prepare.mode"),
                     long_clips=p.get("prepare.long_clips"), seed=p.get("seed"),
                     workers=p.get("prepare.workers"), chunk_size=p.get("prepare.chunk_size"),
                     force=force, limit=limit)
        state = "up to date" if result.reused else "written"
        typer.echo(f"{result.store}: {result.n_samples} samples {state}")
        if result.skipped:
            skipped_any.append(result)
    for result in skipped_any:
        report_skips(result, allow_skips=True)
    if skipped_any and not allow_skips:
        raise typer.Exit(SKIPPED)


@data_app.command("splits")
@friendly
def splits(
    corpus: str = typer.Argument(..., help="corpus name or manifest .csv"),
    source: Optional[Path] = typer.Option(None, help="corpus folder (default data/raw/CORPUS)"),
    label: List[str] = typer.Option(None, "--label", "-l",
                                    help="digit, gender, emotion, or a manifest's own label column (repeatable; default: the corpus's labels, a manifest's label columns)"),
    run_dir: Optional[Path] = typer.Option(None, help="run folder (default data/runs/CORPUS)"),
    profile: str = typer.Option("quick", help="run profile (fold count, seed)"),
):
    """Write speaker-disjoint split files under RUN/splits (the study's names)."""
    from ..data.corpora import BASE_COLUMNS, LABELS, get_corpus, index_corpus
    from ..data.splits import write_splits
    from ..errors import ParameterError

    p = profile_with(profile)
    spec = get_corpus(corpus)
    table, skips = index_corpus(corpus, corpus_root(corpus, source))
    own = [c for c in table.columns if c not in BASE_COLUMNS] if spec.kind == "manifest" else []
    labels = label or list(LABELS.get(spec.kind, own))   # a manifest: every label column it has
    if not labels:
        raise ParameterError(f"corpus {corpus!r} has no default labels: give --label")
    run_dir = run_dir or project_paths().run(spec.name)
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
