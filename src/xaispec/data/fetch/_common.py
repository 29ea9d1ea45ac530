"""Small things the fetch modules share: the log callable, warning lines, timestamps, block size."""
from __future__ import annotations

import sys
import time
from typing import Callable

#: ``log(event, **fields)``, e.g. an :class:`xaispec.events.EventLog`.
Log = Callable[..., None]

#: Bytes read or copied at a time.
CHUNK = 1 << 16


def nolog(event: str, **fields) -> None:
    """The log used when none is given: records nothing."""
    return None


def warn(message: str) -> None:
    """One warning line on stderr (in addition to the log event)."""
    print(f"xaispec: warning: {message}", file=sys.stderr, flush=True)


def now() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
