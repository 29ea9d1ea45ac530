"""The book: chapters executed with papermill into pages, published with Jupyter Book.

:mod:`~xaispec.book.chapters` lists the chapters, :mod:`~xaispec.book.corpora` resolves
the corpora, :mod:`~xaispec.book.pages` and :mod:`~xaispec.book.plan` say which pages a
profile's book has and the task graph that makes them, :mod:`~xaispec.book.execute`
executes a page and builds the book, :mod:`~xaispec.book.run` runs it all. The chapters
use :class:`~xaispec.book.page.Page` (header, figures, sortable tables, audio),
:func:`~xaispec.book.state.timings`, :func:`~xaispec.book.survey.toy_demo` and the texts
of :mod:`~xaispec.book.corpora`: ``from xaispec.book import Page``.
"""
from .chapters import CHAPTERS, METHOD_NOTES, PROJECT, PUBLISHED, Chapter, method_facts
from .corpora import corpora_markdown, corpus_about, corpus_label, resolve_corpora, synthetic_note
from .execute import ChapterError
from .page import Page, audio_html, settings_table, wav_data_uri
from .plan import BookPlan, explain_options
from .run import BookResult, run_book, run_chapter
from .state import context, corpus_runs, last_book, slowest_first, timings, work_per_kind
from .survey import ToyDemo, toy_demo, toy_figure, toy_problem

__all__ = ["CHAPTERS", "METHOD_NOTES", "PROJECT", "PUBLISHED", "BookPlan", "BookResult", "Chapter", "ChapterError",
           "Page", "ToyDemo", "audio_html", "context", "corpora_markdown", "corpus_about", "corpus_label",
           "corpus_runs", "explain_options", "last_book", "method_facts", "resolve_corpora", "run_book", "run_chapter",
           "settings_table", "slowest_first", "synthetic_note", "timings", "toy_demo", "toy_figure", "toy_problem", "wav_data_uri",
           "work_per_kind"]
