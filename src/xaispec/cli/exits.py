"""Exit codes, in one place, and the wrapper that turns errors into them.

====  =====================================================================
0     done
1     an error: a file or its data is wrong, or a task or page failed
      (one line on stderr naming the file, value or task)
2     a usage error: an option, parameter or profile value is wrong
      (typer's own usage errors also exit with 2)
3     done, but some input files were skipped (listed; ``--allow-skips`` not given)
4     done, but some explanations failed (listed; ``--allow-failures`` not given)
====  =====================================================================
"""
from __future__ import annotations

import errno
import functools

import typer

from ..errors import ParameterError, XaispecError

OK, ERROR, USAGE, SKIPPED, FAILED = 0, 1, 2, 3, 4
#: what the disk or its permissions refuse: a one-line error naming the path, not a traceback
STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def code_of(exc: BaseException) -> int:
    """The exit code of an error raised by the library."""
    return USAGE if isinstance(exc, ParameterError) else ERROR


def friendly(fn):
    """Turn an XaispecError into its one-line message on stderr and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except XaispecError as exc:
            typer.echo(f"xaispec: error: {exc}", err=True)
            raise typer.Exit(code_of(exc)) from None
        except OSError as exc:
            if exc.errno not in STORAGE_ERRORS:
                raise
            typer.echo(f"xaispec: error: {exc.filename or 'a file'}: cannot write: {exc.strerror}", err=True)
            raise typer.Exit(ERROR) from None

    return wrapper


def usage_error(message: str) -> typer.Exit:
    """Print ``message`` as a one-line usage error; return the Exit to raise."""
    typer.echo(f"xaispec: error: {message}", err=True)
    return typer.Exit(USAGE)
