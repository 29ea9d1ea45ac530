"""Explanation methods for spectrogram and feature classifiers, one algorithm per module.

Every method is an :class:`~xaispec.explain.base.Explainer` returning an
:class:`~xaispec.explain.base.Explanation`; :data:`METHODS` maps names to classes and
:func:`get_explainer` builds one by name. Importing this package does not import
TensorFlow, lime or shap: the methods import them when they compute.
"""
from . import (energy, gradcam, gradcampp, integrated_gradients, lime_image, lrp, occlusion,  # noqa: F401 (registration)
               random_floor, saliency, shap_deep, shap_gradient, shap_kernel, shap_partition, shap_permutation, smoothgrad)
from ._model import predict, work
from .base import METHODS, Explainer, Explanation, get_explainer

__all__ = ["METHODS", "Explainer", "Explanation", "get_explainer", "predict", "work"]
