"""What a book keeps in its run folder (``data/runs/book``), and how pages read it back.

The folder holds the task stamps, ``events.log``, ``extra_pages.json`` (pages added with
``xaispec chapter``) and ``book.json`` (the profile and corpora of the last ``xaispec
book``). :func:`timings` reads the stamps for the reproducibility page (:func:`work_per_kind`
and :func:`slowest_first` summarise them); :func:`context` gives a page its paths, profile and
run, :func:`corpus_runs` the runs of a book's corpora.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .._io import write_json_atomic
from ..config import Paths, load_profile
from ..models.runs import open_run

BOOK_STATE = "book"  # the book's run folder: data/runs/book (stamps, events.log, state)


def state_dir(paths: Paths) -> Path:
    """The book's run folder, ``<runs>/book``."""
    return paths.runs / BOOK_STATE


def save_book(paths: Paths, profile: str, corpora: dict) -> None:
    """Record the profile (name or YAML path) and corpora of this ``xaispec book`` in ``book.json``."""
    write_json_atomic(state_dir(paths) / "book.json",
                      {"profile": profile, "corpora": corpora,
                       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def last_book(paths: Paths) -> dict | None:
    """The profile and corpora of the last ``xaispec book`` in this root (None if none)."""
    path = state_dir(paths) / "book.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def timings(paths: Paths | None = None):
    """The book's task timings from its stamps.

    Returns
    -------
    pandas.DataFrame
        Columns task, kind, seconds, the work units it counted (``image_epochs`` trained,
        rows run ``forward`` and ``backward`` through a network) and when it ``finished``.
    """
    import pandas as pd

    paths = paths or Paths.default()
    rows = []
    columns = ["task", "kind", "seconds", "image_epochs", "forward", "backward", "finished"]
    for stamp in sorted((state_dir(paths) / "stamps").glob("*.json")):
        try:
            data = json.loads(stamp.read_text(encoding="utf-8"))
        except ValueError:
            continue
        work = data.get("work") or {}
        rows.append({"task": data["id"], "kind": data["id"].split(":", 1)[0], "seconds": data.get("seconds", 0.0),
                     **{k: int(work.get(k, 0)) for k in ("image_epochs", "forward", "backward")},
                     "finished": data.get("finished", "")})
    return pd.DataFrame(rows, columns=columns)


#: the work columns of :func:`timings`, summed by :func:`work_per_kind`
WORK = ("image_epochs", "forward", "backward")


def work_per_kind(steps):
    """Tasks, seconds and counted work summed per kind of task.

    Parameters
    ----------
    steps : pandas.DataFrame
        :func:`timings`.

    Returns
    -------
    pandas.DataFrame
        One row per ``kind`` (sorted) with ``tasks`` (how many), ``seconds`` and the sums of
        :data:`WORK`.
    """
    return (steps.groupby("kind").agg(tasks=("task", "size"), seconds=("seconds", "sum"),
                                      **{k: (k, "sum") for k in WORK})
            .reset_index())


def slowest_first(steps):
    """:func:`timings` ordered by seconds, the longest task first."""
    return steps.sort_values("seconds", ascending=False)


def context(profile: str, corpus: str | None = None):
    """``(paths, profile, run)`` for a chapter: the run is None without a corpus.

    Parameters
    ----------
    profile : str
        The profile's name or YAML path (the page's ``profile`` parameter).
    corpus : str, optional
    """
    paths = Paths.default()
    prof = load_profile(profile)
    run = open_run(corpus, str(paths.root), prof) if corpus else None
    return paths, prof, run


def corpus_runs(profile: str, corpora: dict) -> dict:
    """The runs of a book's corpora: corpus name -> :class:`~xaispec.models.runs.Run`.

    Parameters
    ----------
    profile : str
        The profile's name or YAML path.
    corpora : dict
        Corpus kind -> name (the pages' ``corpora`` parameter); empty names are left out.
    """
    return {name: context(profile, name)[2] for name in corpora.values() if name}
