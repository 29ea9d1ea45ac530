"""What an explain stage is asked to do, besides which samples: :class:`ExplainOptions`.

The options say which methods run with which parameters, whether finished outputs are
redone, what the audible explanations keep, where the recordings are, the seed, the
precision and whether figures are drawn. :data:`DEFAULT_METHODS` and
:data:`DEFAULT_PARAMS` are the studies' choices per model; :func:`method_params` combines
them with the options for one method.
"""
from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..models.runs import ModelSpec

#: the methods each model is explained with when none are given
DEFAULT_METHODS = {
    "alexnet": ("gradcam", "gradcam++", "lime", "shap_gradient", "integrated_gradients", "smoothgrad",
                "occlusion", "shap_partition", "lrp"),
    "cnn2d": ("gradcam", "lime", "lrp"),
    "cnn1d": ("shap_permutation", "shap_kernel", "shap_gradient", "lrp"),
    "audionet": ("lrp", "saliency", "integrated_gradients", "smoothgrad", "occlusion"),
}
#: per model, parameters that differ from a method's own defaults: the studies' settings
#: (LIME: 100 samples, 10 features, quickshift) and modest sample counts for a CPU
DEFAULT_PARAMS = {
    "alexnet": {
        "lime": {"segmentation": "quickshift", "num_samples": 100, "num_features": 10},
        "shap_gradient": {"nsamples": 32, "n_background": 16},
        "occlusion": {"patch": 32, "stride": 16},
        "shap_partition": {"max_evals": 200},
    },
    "cnn2d": {
        "lime": {"segmentation": "grid", "n_freq_bands": 8, "n_time_bands": 12, "num_samples": 100,
                 "num_features": 10},
        "shap_gradient": {"nsamples": 32, "n_background": 16},
        "shap_partition": {"max_evals": 200},
    },
    "audionet": {   # 8,000 samples: occlusion hides 50 ms at a time (39 windows), silence is zero
        "occlusion": {"patch": 400, "stride": 200, "baseline": "zero"},
        "integrated_gradients": {"baseline": "zero"},
    },
    "cnn1d": {
        "shap_permutation": {"n_background": 16, "max_evals": 500},
        "shap_kernel": {"n_background": 100, "k": 10, "nsamples": 128},
        "shap_gradient": {"n_background": 50, "nsamples": 200},
        "shap_deep": {"n_background": 50},
    },
}
_FLAGS = ("force", "scale_waveform", "float32", "figures", "progress")


def method_params(task: ModelSpec, method: str, params: dict | None = None, *, seed: int = 0,
                  scaling: dict | None = None) -> dict:
    """The parameters a method is given: the model's defaults, the seed, the input's bounds,
    then ``params[method]``.

    Parameters
    ----------
    task : ModelSpec
    method : str
        A name in :data:`xaispec.explain.METHODS`.
    params : dict, optional
        ``{method: {parameter: value}}``.
    seed : int
        Given to methods that take a ``seed``.
    scaling : dict, optional
        The model's input scaling: methods that take ``bounds`` (LRP's box rule) get the
        scaled range of a dB input (:func:`~xaispec.models.datasets.input_bounds`).

    Returns
    -------
    dict
    """
    from ..explain import METHODS

    out = dict(DEFAULT_PARAMS.get(task.model, {}).get(method, {}))
    if "seed" in METHODS[method].defaults:
        out["seed"] = seed
    if "bounds" in METHODS[method].defaults and scaling is not None:
        from ..models.datasets import input_bounds

        out["bounds"] = input_bounds(task.representation, scaling)
    out.update((params or {}).get(method, {}))
    return out


@dataclass(frozen=True)
class ExplainOptions:
    """How :func:`xaispec.study.stage.explain` explains the samples it is given.

    Parameters
    ----------
    methods : sequence of str, optional
        Names in :data:`xaispec.explain.METHODS` (repeats are dropped); default (None or
        empty): :data:`DEFAULT_METHODS` of the model. One name may be given as a string.
    params : dict, optional
        ``{method: {parameter: value}}`` overriding :data:`DEFAULT_PARAMS`.
    force : bool
        Explain and draw again even where finished outputs exist.
    top_percent : float
        Cells kept in the audible explanations, in (0, 100].
    scale_waveform : bool
        Min-max scale waveform plots to [-1, 1] (the study's option).
    corpus_root : path-like, optional
        Folder the store's ``path`` column is relative to (default ``data/raw/<corpus>``).
    seed : int
        Seed of the methods that draw random numbers (LIME, SmoothGrad, SHAP) and of the
        SHAP background rows.
    float32 : bool
        Explain a float32 copy of a mixed-precision model (the default: bfloat16 gradients
        carry about 3 significant digits, and the studies explained float32 models); False
        explains the model in the precision it was trained in.
    figures : bool
        Draw figures and sounds (False: result files only).
    progress : bool
        Show a progress bar.

    Raises
    ------
    ParameterError
        A value is not valid (the message repeats it).
    """

    methods: tuple[str, ...] | None = None
    params: dict | None = None
    force: bool = False
    top_percent: float = 20.0
    scale_waveform: bool = False
    corpus_root: str | os.PathLike | None = None
    seed: int = 0
    float32: bool = True
    figures: bool = True
    progress: bool = True

    def __post_init__(self):
        from ..explain import METHODS

        methods = self.methods
        if isinstance(methods, str):
            methods = (methods,)
        methods = tuple(dict.fromkeys(methods)) if methods else None
        unknown = [m for m in methods or () if m not in METHODS]
        if unknown:
            raise ParameterError(f"unknown explanation method(s) {unknown}; "
                                 f"valid methods: {', '.join(sorted(METHODS))}")
        object.__setattr__(self, "methods", methods)
        params = self.params
        if params is not None:
            if not isinstance(params, Mapping) or not all(isinstance(p, Mapping) for p in params.values()):
                raise ParameterError(f"params={params!r} must map method names to {{parameter: value}} dictionaries")
            object.__setattr__(self, "params", {m: dict(p) for m, p in params.items()})
        top = self.top_percent
        if isinstance(top, bool) or not isinstance(top, numbers.Real) or not 0 < float(top) <= 100:
            raise ParameterError(f"top_percent={top!r} must be in (0, 100]")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise ParameterError(f"seed={self.seed!r} must be an integer")
        if self.corpus_root is not None and not isinstance(self.corpus_root, (str, os.PathLike)):
            raise ParameterError(f"corpus_root={self.corpus_root!r} must be a folder path")
        for name in _FLAGS:
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ParameterError(f"{name}={value!r} must be True or False")

    def replace(self, **changes) -> "ExplainOptions":
        """A copy with ``changes`` (field names and values), validated like a new one."""
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise ParameterError(f"unknown explain option(s) {unknown}; valid options: {', '.join(names)}")
        return dataclasses.replace(self, **changes)

    def methods_for(self, task: ModelSpec) -> list[str]:
        """The methods ``task``'s model is explained with: :attr:`methods`, else its defaults."""
        return list(self.methods) if self.methods else list(DEFAULT_METHODS[task.model])

    def params_for(self, task: ModelSpec, method: str, scaling: dict | None = None) -> dict:
        """The parameters ``method`` is given for ``task`` (see :func:`method_params`)."""
        return method_params(task, method, self.params, seed=self.seed, scaling=scaling)
