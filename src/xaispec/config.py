"""Configuration in one place: the project root, the paths derived from it, and run profiles.

Run profiles (``smoke``, ``quick``, ``full``) are YAML files in ``xaispec/profiles``.
``base.yaml`` holds every key with its default and defines the schema: a profile may only
override keys that exist there, with values of the same type (choices are checked too).
Nothing is created at import time; paths are only computed.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ParameterError

PROFILE_DIR = Path(__file__).with_name("profiles")
PROFILES = ("smoke", "quick", "full")

#: the optimizers ``train.<model>.optimizer`` may name (base.yaml gives each model its study's)
OPTIMIZERS = ("sgd", "sgd_momentum", "adam")
#: allowed values of enumerated keys, by dotted key
CHOICES: dict[str, tuple] = {
    "prepare.mode": ("exact", "fast"),
    "prepare.long_clips": ("crop", "error"),
    "train.scaling": ("study", "standardize"),
    "train.mixed_precision": ("auto", True, False),
    **{f"train.{model}.optimizer": OPTIMIZERS for model in ("alexnet", "audionet", "cnn1d", "cnn2d")},
}
#: keys whose value may be of any of the types of their CHOICES (e.g. "auto" or a bool)
MIXED_TYPES = ("train.mixed_precision",)
#: mappings whose keys are not fixed: {model: {method: {parameter: value}}}; the methods
#: check their parameters when the book builds them
FREE_FORM = {"book.explainer_params": ("alexnet", "audionet", "cnn1d", "cnn2d")}
#: keys whose integer value must be at least this
MINIMUM: dict[str, int] = {
    "synthetic.digits.repetitions": 1,
    "synthetic.digits.participants": 1,
    "synthetic.emotions.actors": 2,
    "synthetic.emotions.repetitions": 1,
    "synthetic.cues.speakers": 1,
    "synthetic.cues.clips": 1,
    "synthetic.cues.classes": 2,
    "synthetic.cues.sample_rate": 8000,
    "prepare.workers": 1,
    "prepare.chunk_size": 1,
    "splits.n_folds": 2,
    **{f"train.{m}.{k}": 1 for m in ("alexnet", "audionet", "cnn1d", "cnn2d") for k in ("epochs", "batch_size")},
    **{f"book.{k}": 1 for k in ("examples_per_digit_per_sex", "shap_rows", "shap_background", "data_examples",
                                "workers", "cell_timeout")},
    "train.validate_max": 0,
    "book.wrong": 0,
    "book.examples_max": 0,
    "book.correct": 0,
    "book.cue_examples": 1,
    "book.cue_moved": 0,
}


def project_root() -> Path:
    """The project root every path is derived from.

    ``$XAISPEC_ROOT`` when set; otherwise the nearest folder at or above the working
    directory whose ``pyproject.toml`` declares the ``xaispec`` project; otherwise the
    working directory.
    """
    env = os.environ.get("XAISPEC_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and 'name = "xaispec"' in pyproject.read_text(encoding="utf-8"):
            return folder
    return here


@dataclass(frozen=True)
class Paths:
    """Every location xaispec reads or writes, derived from one root.

    ``data/raw`` holds corpora as downloaded or synthesized (never modified),
    ``data/processed`` the derived stores, ``data/runs`` one folder per run
    (splits, models, results, events log).
    """

    root: Path

    @classmethod
    def default(cls) -> "Paths":
        return cls(project_root())

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def raw(self) -> Path:
        return self.data / "raw"

    @property
    def downloads(self) -> Path:
        return self.data / "downloads"

    @property
    def processed(self) -> Path:
        return self.data / "processed"

    @property
    def runs(self) -> Path:
        return self.data / "runs"

    @property
    def book(self) -> Path:
        return self.root / "book"

    @property
    def chapters(self) -> Path:
        return self.root / "chapters"

    def corpus(self, name: str) -> Path:
        """Folder of corpus ``name`` under ``data/raw``."""
        return self.raw / name

    def store(self, corpus: str, representation: str) -> Path:
        """HDF5 store of ``representation`` for ``corpus`` under ``data/processed``."""
        return self.processed / corpus / f"{representation}.h5"

    def run(self, name: str) -> Path:
        """Folder of run ``name`` under ``data/runs``."""
        return self.runs / name


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML ({exc.__class__.__name__}: {exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: a profile must be a mapping of keys, got {type(data).__name__}")
    return data


def _merge(base: dict, over: dict, source: Path, prefix: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            valid = ", ".join(sorted(base))
            raise ParameterError(f"{source}: unknown key {dotted!r} (valid here: {valid})")
        default = base[key]
        if dotted in FREE_FORM:
            out[key] = _free_form(dotted, value, FREE_FORM[dotted], source)
            continue
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ParameterError(f"{source}: {dotted!r} must be a mapping, got {value!r}")
            out[key] = _merge(default, value, source, dotted + ".")
            continue
        if dotted in MIXED_TYPES:
            out[key] = value  # checked against CHOICES in _check
            continue
        if isinstance(default, bool) != isinstance(value, bool) or (
            default is not None and not isinstance(value, type(default))
            and not (isinstance(default, float) and isinstance(value, int))
        ):
            raise ParameterError(
                f"{source}: {dotted!r} must be {type(default).__name__}, got {value!r}")
        out[key] = value
    return out


def _free_form(dotted: str, value, models: tuple, source: Path) -> dict:
    """A ``{model: {method: {parameter: value}}}`` mapping, its shape checked."""
    if not isinstance(value, dict):
        raise ParameterError(f"{source}: {dotted!r} must be a mapping of models, got {value!r}")
    for model, methods in value.items():
        if model not in models:
            raise ParameterError(f"{source}: {dotted}.{model} is not a model; valid: {', '.join(models)}")
        if not isinstance(methods, dict) or not all(isinstance(p, dict) for p in methods.values()):
            raise ParameterError(f"{source}: {dotted}.{model} must map methods to parameter mappings, "
                                 f"e.g. lime: {{num_samples: 50}}; got {methods!r}")
    return copy.deepcopy(value)


def _check(values: dict, source: Path, prefix: str = "") -> None:
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            if dotted not in FREE_FORM:
                _check(value, source, dotted + ".")
            continue
        if dotted in CHOICES and not any(value is c or (type(value) is type(c) and value == c)
                                         for c in CHOICES[dotted]):
            raise ParameterError(f"{source}: {dotted} = {value!r} is not one of {list(CHOICES[dotted])}")
        if dotted in MINIMUM and value < MINIMUM[dotted]:
            raise ParameterError(f"{source}: {dotted} = {value!r} must be at least {MINIMUM[dotted]}")


@dataclass(frozen=True)
class Profile:
    """A validated run profile: ``name`` plus nested ``values``; ``get('a.b')`` reads one key."""

    name: str
    values: dict
    source: Path

    def get(self, dotted: str) -> Any:
        node: Any = self.values
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ParameterError(f"profile {self.name!r} has no key {dotted!r}")
            node = node[part]
        return node

    def with_overrides(self, overrides: dict[str, Any]) -> "Profile":
        """A copy with dotted keys replaced, validated like a profile file."""
        nested: dict = {}
        for dotted, value in overrides.items():
            node = nested
            *parents, last = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        source = Path(f"<overrides of {self.name}>")
        merged = _merge(self.values, nested, source)
        _check(merged, source)
        return Profile(self.name, merged, self.source)


def load_profile(name_or_path: str | os.PathLike = "quick") -> Profile:
    """Load and validate a run profile by name (``smoke``, ``quick``, ``full``) or YAML path.

    Raises
    ------
    ParameterError
        Unknown profile name, unknown key, wrong type or value out of range.
    """
    base_path = PROFILE_DIR / "base.yaml"
    base = _read_yaml(base_path)
    text = str(name_or_path)
    path = Path(text)
    if text in PROFILES:
        path = PROFILE_DIR / f"{text}.yaml"
    elif not (path.suffix in (".yaml", ".yml") and path.is_file()):
        raise ParameterError(
            f"unknown profile {text!r}: use one of {list(PROFILES)} or the path of a YAML file")
    over = _read_yaml(path)
    name = over.pop("name", path.stem)
    merged = _merge(base, over, path)
    _check(merged, path)
    return Profile(str(name), merged, path)
