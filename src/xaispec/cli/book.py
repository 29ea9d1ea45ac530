"""``xaispec book`` and ``xaispec chapter``: run what the book needs, execute its pages, build it."""
from __future__ import annotations

from typing import List, Optional

import typer

from .app import app
from .common import project_paths, profile_with
from .exits import ERROR, friendly, usage_error


def book_progress(result) -> None:
    """Print a failed task as soon as it is known (above the progress bar)."""
    from tqdm.auto import tqdm

    if result.state == "failed":
        tqdm.write(f"failed: {result.id}: {result.error}")


def book_report(outcome) -> None:
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
        raise typer.Exit(ERROR)


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
    from ..book import BookPlan, resolve_corpora, run_book

    p = profile_with(profile)
    paths = project_paths()
    if dry_run:
        corpora = resolve_corpora(corpus, p.get("book.corpus")) if corpus else None
        plan = BookPlan(p, paths, corpora)
        graph = plan.graph()
        stale = graph.stale()
        typer.echo(f"{len(stale)} of {len(graph)} tasks would run:")
        for tid in stale:
            typer.echo(f"  {tid}")
        return
    outcome = run_book(p, paths, corpus=corpus or None, executor=executor, rerun=rerun, on_result=book_progress)
    book_report(outcome)


@app.command("chapter", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@friendly
def chapter_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="preface, survey, data, training, explanations, evaluation, groundtruth, "
                                         "information, emotions or reproducibility"),
    profile: Optional[str] = typer.Option(None, help="run profile (default: the one of the last 'xaispec book' here)"),
    corpus: List[str] = typer.Option(None, "--corpus", help="as for 'xaispec book' (default: the last book's)"),
    executor: Optional[str] = typer.Option(None, help="local, dask or dask:SCHEDULER-ADDRESS"),
):
    """Execute one chapter with new parameters (running what it needs first) and rebuild the book.

    Parameters of the page: -p NAME VALUE (repeatable), e.g.

        xaispec chapter explanations -p label gender -p fold 2 -p explainer lime
    """
    from ..book import run_chapter

    params, args, i = {}, list(ctx.args), 0
    while i < len(args):
        flag = args[i]
        if flag not in ("-p", "--param"):
            raise usage_error(f"unexpected argument {flag!r}: give page parameters as -p NAME VALUE")
        rest = args[i + 1:i + 3]
        if rest and "=" in rest[0]:
            key, value = rest[0].split("=", 1)
            i += 2
        elif len(rest) == 2 and rest[1] not in ("-p", "--param"):
            key, value = rest
            i += 3
        else:
            raise usage_error(f"{flag} needs a name and a value, e.g. -p label gender")
        params[key] = value
    outcome = run_chapter(name, params, project_paths(), profile=profile_with(profile) if profile else None,
                          corpus=corpus or None, executor=executor, on_result=book_progress)
    book_report(outcome)
