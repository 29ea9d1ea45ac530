"""What the commands share: the project's paths, a profile with command-line overrides,
a corpus folder, a run, the folds to work on."""
from __future__ import annotations

from pathlib import Path
from typing import Optional


def project_paths():
    """The project's :class:`~xaispec.config.Paths` (``$XAISPEC_ROOT`` or the project folder)."""
    from ..config import Paths

    return Paths.default()


def profile_with(name: str, overrides: dict | None = None):
    """Profile ``name`` with the command-line values that were given (None: not given)."""
    from ..config import load_profile

    profile = load_profile(name)
    return profile.with_overrides({k: v for k, v in (overrides or {}).items() if v is not None})


def corpus_root(corpus: str, source: Optional[Path]) -> Path:
    """The corpus folder: ``--source`` when given, else ``data/raw/<corpus>``."""
    from ..data.corpora import get_corpus

    spec = get_corpus(corpus)
    if spec.layout == "manifest":
        return Path(corpus)
    return Path(source) if source else project_paths().corpus(spec.name)


def open_run_dir(corpus: str, run_dir: Optional[Path], profile):
    """The run of ``corpus`` (in ``run_dir`` when given)."""
    from ..models.runs import open_run

    return open_run(corpus, project_paths().root, profile, run_dir=run_dir)


def folds_of(run, label: str, fold: str, model: Optional[str]) -> list:
    """``--fold all``: every fold the model is trained on; else the one given."""
    return run.model_folds(label, model) if fold == "all" else [fold]
