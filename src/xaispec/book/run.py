"""Running a book: ``xaispec book`` (the whole graph) and ``xaispec chapter`` (one page).

The data tasks run first, because the folds and labels the rest of the graph needs come
from the splits; then the graph of the pages and the build.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Paths, Profile, load_profile
from ..errors import ParameterError
from ..workflow import Executor, Graph, LocalExecutor, Result, TaskResult, get_executor, stamp_path
from .chapters import CHAPTERS, ensure_frame
from .corpora import resolve_corpora
from .lock import book_lock
from .plan import BookPlan
from .state import last_book


@dataclass
class BookResult:
    """What a book or chapter run did.

    Attributes
    ----------
    result : Result
        Every task's result.
    plan : BookPlan
    pages : list
        The (chapter, parameters) executed.
    html : Path
        The book's ``index.html``.
    """

    result: Result
    plan: BookPlan
    pages: list
    html: Path

    @property
    def ok(self) -> bool:
        """Every task succeeded."""
        return self.result.ok

    def failures(self) -> list[TaskResult]:
        """The failed tasks' results."""
        return self.result.failures


def make_executor(profile: Profile, name: str | None, **options) -> Executor:
    """The executor ``name`` (default the profile's ``book.executor``) with the profile's workers."""
    name = name or profile.get("book.executor")
    if name == "local":
        return LocalExecutor(**options)
    return get_executor(name, n_workers=profile.get("book.workers"), **options)


def _keep_data_failures(result: Result, first: Result) -> None:
    """Report a failed data task of the first phase once, as it was."""
    for tid, r in first.results.items():
        if not r.ok:
            result.results[tid] = r


def run_book(profile: Profile, paths: Paths, *, corpus=None, executor: str | None = None, rerun: bool = False,
             progress: bool = True, on_result=None) -> BookResult:
    """Run what the book is missing, execute its pages, build it.

    The data tasks run first (the folds and labels the rest of the graph needs come from
    the splits), then the whole graph. Pages no longer in the book are removed.

    Parameters
    ----------
    profile : Profile
    paths : Paths
    corpus : str or list of str, optional
        ``--corpus`` choices (see :func:`~xaispec.book.corpora.resolve_corpora`).
    executor : str, optional
        ``local``, ``dask`` or ``dask:<address>``; default the profile's.
    rerun : bool
        Execute every page again.
    progress : bool
    on_result : callable, optional
        Called with every task's result as it is known.
    """
    corpora = resolve_corpora(corpus, profile.get("book.corpus")) if corpus else None
    plan = BookPlan(profile, paths, corpora, rerun=rerun)
    with book_lock(paths):   # one book run at a time in a project folder
        ensure_frame(paths)
        ex = make_executor(profile, executor, progress=progress, on_result=on_result)
        data = Graph(plan.state_dir)
        plan.data_tasks(data)
        first = ex.run(data)
        plan.reset()
        pages = plan.pages()
        graph = plan.graph(pages)
        plan.prune(pages)
        plan.save_state()
        if rerun:
            for tid in graph.tasks:
                if tid.startswith("chapter:"):
                    stamp_path(plan.state_dir, tid).unlink(missing_ok=True)
        result = ex.run(graph)
        _keep_data_failures(result, first)
        return BookResult(result, plan, pages, paths.root / "_build" / "html" / "index.html")


def run_chapter(chapter: str, params: dict, paths: Paths, *, profile: Profile | None = None, corpus=None,
                executor: str | None = None, progress: bool = True, on_result=None) -> BookResult:
    """Execute one page with new parameters (running what it needs first) and rebuild the book.

    The profile and corpora default to those of the last ``xaispec book`` in this root.
    Other parameters as for :func:`run_book`.

    Raises
    ------
    ParameterError
        An unknown chapter or parameter, or a value not valid in this book; or no book was built
        in this root yet (a page is added to a built book: its frame, preface and table of
        contents), checked before anything runs.
    """
    state = last_book(paths)
    if profile is None:
        profile = load_profile(state["profile"] if state else "quick")
    if corpus:
        corpora = resolve_corpora(corpus, profile.get("book.corpus"))
    elif state and state.get("corpora"):
        corpora = state["corpora"]
    else:
        corpora = None
    plan = BookPlan(profile, paths, corpora)
    params = plan.validate(chapter, params)
    if state is None:
        raise ParameterError(f"no book was built in {paths.root} yet: run 'xaispec book --profile {profile.name}' "
                             "there first ('xaispec chapter' adds a page to a built book)")
    with book_lock(paths):   # checked and refused above without it: those only read
        ensure_frame(paths)
        ex = make_executor(profile, executor, progress=progress, on_result=on_result)
        data = Graph(plan.state_dir)
        plan.data_tasks(data)
        needed = plan.page_kinds(chapter, params)
        first = ex.run(data, targets=plan.data_task_ids(data, needed)) if needed else Result({})
        plan.reset()
        params = plan.validate(chapter, params)
        graph = plan.graph([(chapter, params)])
        if CHAPTERS[chapter].params:
            plan.remember(chapter, params)
        result = ex.run(graph, targets=["book"])
        _keep_data_failures(result, first)
        return BookResult(result, plan, [(chapter, params)], paths.root / "_build" / "html" / "index.html")
