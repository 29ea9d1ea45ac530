"""The book: chapters executed with papermill into pages, published with Jupyter Book.

:mod:`~xaispec.book.chapters` lists the chapters, :mod:`~xaispec.book.corpora` resolves
the corpora, :mod:`~xaispec.book.pages` and :mod:`~xaispec.book.plan` say which pages a
profile's book has and the task graph that makes them, :mod:`~xaispec.book.execute`
executes a page and builds the book, :mod:`~xaispec.book.run` runs it all. The chapters
use :class:`~xaispec.book.page.Page` (header, figures, sortable tables, audio),
:func:`~xaispec.book.state.timings` and :func:`~xaispec.book.survey.toy_problem`:
``from xaispec.book import Page``.
"""
from .chapters import CHAPTERS, METHOD_NOTES, PROJECT, PUBLISHED, Chapter
from .corpora import corpus_label, resolve_corpora
from .execute import ChapterError
from .page import Page, audio_html, wav_data_uri
from .plan import BookPlan, explain_options
from .run import BookResult, run_book, run_chapter
from .state import context, last_book, timings
from .survey import toy_problem

__all__ = ["CHAPTERS", "METHOD_NOTES", "PROJECT", "PUBLISHED", "BookPlan", "BookResult", "Chapter", "ChapterError",
           "Page", "audio_html", "context", "corpus_label", "explain_options", "last_book", "resolve_corpora",
           "run_book", "run_chapter", "timings", "toy_problem", "wav_data_uri"]
