"""Events log: every run appends one JSON object per line to ``events.log`` in its folder."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path


class EventLog:
    """Append-only JSON-lines log of a run's steps.

    Parameters
    ----------
    folder : path
        The run's folder; the log is ``folder/events.log``. Created on first write.
    """

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / "events.log"

    def __call__(self, event: str, **fields) -> None:
        """Record ``event`` with its ``fields`` and a UTC timestamp."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str, sort_keys=False) + "\n")

    def read(self) -> list[dict]:
        """All records so far (an empty list when nothing was logged)."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
