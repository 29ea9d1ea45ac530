"""Old import paths, kept for one release (listed in the README's changelog).

``import xaispec.runs`` or ``from xaispec import plots`` still work: a finder on
``sys.meta_path`` answers for the old names with a module that holds the public names of
the modules the code moved to, and warns (``DeprecationWarning``) with the new path.
Nothing is copied: the names are the new modules' own objects.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

#: old module -> the modules its public names now live in
MOVED = {
    "xaispec.audible": ("xaispec.audio.resynthesis",),
    "xaispec.features": ("xaispec.audio.features",),
    "xaispec.plots": ("xaispec.figures",),
    "xaispec.plots_training": ("xaispec.figures.training",),
    "xaispec.runs": ("xaispec.models.runs",),
    "xaispec.train": ("xaispec.models.train", "xaispec.models.datasets"),
    "xaispec.evaluate": ("xaispec.models.evaluate",),
    "xaispec.machine": ("xaispec.models.machine",),
    "xaispec.info": ("xaispec.study.info",),
    "xaispec.pipeline": ("xaispec.workflow", "xaispec.study.steps"),
    "xaispec.bookbuild": ("xaispec.book", "xaispec.book.chapters", "xaispec.book.corpora", "xaispec.book.plan",
                          "xaispec.book.execute", "xaispec.book.run", "xaispec.book.state", "xaispec.book.page",
                          "xaispec.book.survey"),
    "xaispec.data.download": ("xaispec.data.fetch",),
    "xaispec.explanations": ("xaispec.study.samples", "xaispec.study.stage", "xaispec.study.options",
                             "xaispec.study.results", "xaispec.study.pictures", "xaispec.models.loading",
                             "xaispec.data.signals"),
}

#: names renamed in the move: old module -> {old name: new name}
RENAMED = {"xaispec.runs": {"Task": "ModelSpec"}, "xaispec.train": {"_compile": "compile_model"}}


def public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    return list(names) if names is not None else [n for n in vars(module) if not n.startswith("_")]


class _Alias(importlib.abc.Loader):
    def __init__(self, targets: tuple[str, ...]):
        self.targets = targets

    def create_module(self, spec):
        return types.ModuleType(spec.name)

    def exec_module(self, module):
        where = " and ".join(self.targets)
        warnings.warn(f"{module.__name__} moved to {where}; the old path goes in the next release",
                      DeprecationWarning, stacklevel=3)
        module.__doc__ = f"Moved to {where}."
        for target in self.targets:
            new = importlib.import_module(target)
            for name in public_names(new):
                setattr(module, name, getattr(new, name))
        for old, new_name in RENAMED.get(module.__name__, {}).items():
            setattr(module, old, getattr(module, new_name))


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old module names of :data:`MOVED`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, _Alias(MOVED[fullname]))
        return None


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedFinder())
