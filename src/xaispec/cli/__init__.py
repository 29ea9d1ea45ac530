"""The ``xaispec`` command line: a thin layer over the library, one module per command group.

Exit codes are defined in :mod:`.exits` (0 done, 1 error, 2 usage error, 3 files skipped,
4 explanations failed).
"""
from __future__ import annotations

from . import system, data, models, info, explain, measure, book, cluster  # noqa: F401, I001 (registration, in the order of --help)
from .app import app


def main() -> None:
    """The console entry point: library noise filtered, then the typer app."""
    from ..quiet import filter_native_stderr

    filter_native_stderr()  # TensorFlow's start-up lines stay out of the terminal
    app()


__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
