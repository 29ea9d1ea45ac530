"""The real corpora's sources and how their roots are recognised.

:data:`SOURCES` holds each corpus's download URL, archive name, published size and
MD5 (when known) and a marker pattern; :func:`locate_root` finds a corpus root in a
folder by that marker.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ...errors import DataError, ParameterError

__all__ = ["MAX_DEPTH", "SOURCES", "CorpusSource", "get_source", "has_marker", "locate_root"]

#: How deep :func:`locate_root` looks below the folder it is given.
MAX_DEPTH = 3

_SKIP_DIRS = {"__MACOSX"}


@dataclasses.dataclass(frozen=True)
class CorpusSource:
    """Where a corpus comes from and how its root is recognised.

    Parameters
    ----------
    name : str
        The corpus key in :data:`SOURCES`.
    url : str
        The download URL of its archive.
    filename : str
        The name the archive is stored under in the downloads folder.
    size, md5 : int or str, optional
        The published archive size in bytes and MD5 hex digest, when known.
    marker : str
        A glob pattern, relative to the corpus root, that matches at least one
        existing path in a genuine root (e.g. ``"recordings/*_*_*.wav"``). Empty:
        the folder given is the root.
    """

    name: str
    url: str
    filename: str
    size: int | None = None
    md5: str | None = None
    marker: str = ""
    marker_help: str = ""

    def describe_marker(self) -> str:
        """Human-readable description of what a corpus root contains."""
        return self.marker_help or (f"a folder containing {self.marker}" if self.marker else "any folder")


SOURCES: dict[str, CorpusSource] = {
    "audiomnist": CorpusSource(
        name="audiomnist",
        url="https://github.com/soerenab/AudioMNIST/archive/refs/heads/master.zip",
        filename="AudioMNIST-master.zip",
        marker="data/audioMNIST_meta.txt",
        marker_help="a folder containing data/audioMNIST_meta.txt",
    ),
    "ravdess": CorpusSource(
        name="ravdess",
        url="https://zenodo.org/record/1188976/files/Audio_Speech_Actors_01-24.zip?download=1",
        filename="Audio_Speech_Actors_01-24.zip",
        size=208468073,
        md5="bc696df654c87fed845eb13823edef8a",
        marker="Actor_[0-9][0-9]/*.wav",
        marker_help="a folder containing Actor_01 .. Actor_24 folders of .wav files",
    ),
    "fsdd": CorpusSource(
        name="fsdd",
        url="https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/heads/master.zip",
        filename="free-spoken-digit-dataset-master.zip",
        marker="recordings/*_*_*.wav",
        marker_help="a folder containing recordings/<digit>_<speaker>_<index>.wav files",
    ),
}


def get_source(corpus: str) -> CorpusSource:
    """The :class:`CorpusSource` of ``corpus``.

    Raises
    ------
    ParameterError
        ``corpus`` is not a key of :data:`SOURCES`.
    """
    try:
        return SOURCES[corpus]
    except (KeyError, TypeError):
        raise ParameterError(
            f"corpus {corpus!r}: unknown corpus; valid ones are {', '.join(sorted(SOURCES))}"
        ) from None


def has_marker(folder: Path, src: CorpusSource) -> bool:
    """Whether ``folder`` looks like a root of ``src`` (its marker matches a path in it)."""
    if not src.marker:
        return folder.is_dir()
    try:
        return any(True for _ in folder.glob(src.marker))
    except OSError:
        return False


def locate_root(folder: str | os.PathLike, corpus: str) -> Path:
    """Find the corpus root inside ``folder`` by the corpus marker.

    Looks at ``folder`` itself and at most :data:`MAX_DEPTH` levels below it
    (breadth first, names sorted, hidden folders and ``__MACOSX`` skipped), and
    returns the shallowest folder that contains the marker.

    Raises
    ------
    ParameterError
        ``corpus`` is not a key of :data:`SOURCES`.
    DataError
        ``folder`` is not a folder, or no corpus root is found in it.
    """
    src = get_source(corpus)
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (expected {src.describe_marker()})")
    level = [folder]
    for depth in range(MAX_DEPTH + 1):
        following: list[Path] = []
        for candidate in level:
            if has_marker(candidate, src):
                return candidate
            if depth < MAX_DEPTH:
                try:
                    children = sorted(candidate.iterdir())
                except OSError:
                    continue
                following.extend(
                    c for c in children
                    if c.is_dir() and not c.name.startswith(".") and c.name not in _SKIP_DIRS
                )
        level = following
        if not level:
            break
    raise DataError(
        f"{folder}: no {corpus} corpus root found within {MAX_DEPTH} levels "
        f"(expected {src.describe_marker()})"
    )
