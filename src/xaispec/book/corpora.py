"""The corpora a book is made of: the ``--corpus`` choices resolved, and how pages name and
describe them."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..errors import ParameterError

#: what the data chapter says about each named corpus (MyST Markdown, with citations)
ABOUT = {
    "synthetic-digits": "Spoken digits synthesized offline with espeak-ng voices, one voice per participant, "
                        "in AudioMNIST's layout and with its participants' sexes (12 of 60 female).",
    "audiomnist": "AudioMNIST {cite:p}`becker2024audiomnist`: 60 speakers say each digit 50 times at 48 kHz.",
    "fsdd": "The Free Spoken Digit Dataset {cite:p}`jackson2018fsdd`: 6 speakers, 8 kHz recordings.",
    "synthetic-emotions": "Two statements spoken with eight emotions by espeak-ng voices (prosody per emotion), "
                          "in RAVDESS's layout: odd actors male, even actors female.",
    "ravdess": "RAVDESS speech {cite:p}`livingstone2018ravdess`: 24 actors, 8 emotions, 2 statements, 48 kHz.",
    **{f"synthetic-cues-{kind}": f"Planted-cue clips: a {what} carries the class, mixed under a spoken digit "
                                 "that says nothing about it; each clip's cue is stored on its own, and its "
                                 "ground-truth cells are stored beside the spectrogram."
       for kind, what in (("tone", "tone burst in a class-specific band"),
                          ("noise", "band of noise in a class-specific band"),
                          ("clicks", "click train at a class-specific rate"),
                          ("pair", "pair of tone bursts, low-then-high or high-then-low,"))},
}

#: the preface's note on a book built from synthetic corpora
SYNTHETIC_NOTE = ("The synthetic corpora are spoken by espeak-ng voices in the layouts of AudioMNIST and RAVDESS, "
                  "so the book can be built offline in minutes; their accuracies and maps show the method, "
                  "not the published numbers.")

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
            out[book_kind(choice)] = {"name": choice, "source": None}
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


def book_kind(name: str) -> str:
    """A corpus's key among a book's corpora: its kind (``digits``, ``emotions``); a
    planted-cue corpus ``synthetic-cues-KIND`` is ``cues-KIND`` (a book may have several)."""
    from ..data.corpora import CORPORA

    spec = CORPORA[name]
    return f"cues-{name.rsplit('-', 1)[1]}" if spec.kind == "cues" else spec.kind


def cue_corpus(kind: str) -> str:
    """The planted-cue corpus of cue ``kind`` (``tone``, ``noise``, ``clicks``, ``pair``)."""
    return f"synthetic-cues-{kind}"


def corpus_label(name: str) -> str:
    """A corpus's short name for pages: ``synthetic-digits``, or a manifest's file stem."""
    return Path(name).stem if name.endswith(".csv") else name


def corpus_about(name: str) -> str:
    """What the data chapter says about corpus ``name`` (MyST Markdown): :data:`ABOUT`, else
    the corpus's one-line description."""
    from ..data.corpora import get_corpus

    spec = get_corpus(name)
    return ABOUT.get(spec.name, spec.description)


def corpora_markdown(corpora: dict[str, str]) -> str:
    """A Markdown list of a book's corpora: ``* the **digits** corpus `name`: description``.

    Parameters
    ----------
    corpora : dict
        Corpus kind -> corpus name (the pages' ``corpora`` parameter); a name that is not
        one of the known corpora is listed without a description.
    """
    from ..data.corpora import CORPORA

    lines = []
    for kind, name in corpora.items():
        spec = CORPORA.get(name)
        lines.append(f"* the **{kind}** corpus `{name}`" + (f": {spec.description}" if spec else ""))
    return "\n".join(lines)


def synthetic_note(corpora: dict[str, str]) -> str:
    """:data:`SYNTHETIC_NOTE` when any of ``corpora`` (kind -> name) is synthetic, else ``""``."""
    return SYNTHETIC_NOTE if any(str(name).startswith("synthetic") for name in corpora.values()) else ""
