"""The corpora a book is made of: the ``--corpus`` choices resolved, and their names on pages."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..errors import ParameterError

#: corpus sets a book can use: ``--corpus NAME`` -> (digit corpus, emotion corpus)
CORPUS_SETS = {"synthetic": ("synthetic-digits", "synthetic-emotions"), "real": ("audiomnist", "ravdess")}


def _detect_layout(folder: Path) -> str | None:
    """The corpus whose layout ``folder`` has (``audiomnist``, ``fsdd``, ``ravdess``), or None."""
    if (folder / "data" / "audioMNIST_meta.txt").is_file() or (folder / "audioMNIST_meta.txt").is_file():
        return "audiomnist"
    if (folder / "recordings").is_dir():
        return "fsdd"
    if any(folder.glob("Actor_*")):
        return "ravdess"
    return None


def resolve_corpora(choices: Iterable[str] | str | None, default: str = "synthetic") -> dict[str, dict]:
    """The book's corpora: ``{"digits": {"name", "source"}, "emotions": {...}}``.

    Parameters
    ----------
    choices : str or iterable of str, optional
        The ``--corpus`` values, applied in order over ``default``: ``synthetic``
        (espeak-ng digits and emotions, offline), ``real`` (AudioMNIST and RAVDESS), a
        corpus name (``fsdd``, ``audiomnist``, ``ravdess``, ``synthetic-digits``,
        ``synthetic-emotions``) replacing the corpus of its kind, a manifest ``.csv`` (a
        digit corpus unless it has an ``emotion`` column), or a corpus folder in AudioMNIST,
        FSDD or RAVDESS layout (used in place).
    default : str
        The choice applied first (the profile's ``book.corpus``).

    Returns
    -------
    dict
        Per kind the corpus ``name`` and, for a folder used in place, its ``source``.

    Raises
    ------
    ParameterError
        An unknown choice, a missing manifest or a folder of no known layout.
    """
    from ..data.corpora import CORPORA

    if isinstance(choices, str):
        choices = [choices]
    out: dict[str, dict] = {}
    valid = [*CORPUS_SETS, *sorted(CORPORA), "a manifest .csv", "a corpus folder"]
    for choice in [default, *(choices or [])]:
        choice = str(choice)
        if choice in CORPUS_SETS:
            digits, emotions = CORPUS_SETS[choice]
            out["digits"] = {"name": digits, "source": None}
            out["emotions"] = {"name": emotions, "source": None}
        elif choice in CORPORA:
            out[CORPORA[choice].kind] = {"name": choice, "source": None}
        elif choice.endswith(".csv"):
            path = Path(choice).resolve()
            if not path.is_file():
                raise ParameterError(f"--corpus {choice}: manifest not found")
            header = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
            kind = "emotions" if header and "emotion" in header[0].split(",") else "digits"
            out[kind] = {"name": str(path), "source": None}
        elif Path(choice).is_dir():
            layout = _detect_layout(Path(choice))
            if layout is None:
                raise ParameterError(f"--corpus {choice}: a folder in AudioMNIST, FSDD or RAVDESS layout is expected")
            out[CORPORA[layout].kind] = {"name": layout, "source": str(Path(choice).resolve())}
        else:
            raise ParameterError(f"unknown corpus {choice!r}: use one of {', '.join(valid)}")
    return out


def corpus_label(name: str) -> str:
    """A corpus's short name for pages: ``synthetic-digits``, or a manifest's file stem."""
    return Path(name).stem if name.endswith(".csv") else name
