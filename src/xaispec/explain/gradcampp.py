"""Grad-CAM++ (Chattopadhay et al., 2018): pixel-weighted gradients for several class regions."""
from __future__ import annotations

from .base import register
from .gradcam import GradCAM


@register
class GradCAMPlusPlus(GradCAM):
    """Grad-CAM++ heatmaps in [0, 1], aligned with the input.

    The channel weights are ``sum_ij alpha_ij relu(g_ij)`` with the paper's closed form for
    an exponentiated score, ``alpha = g^2 / (2 g^2 + sum_ab A_ab g^3)`` (0 where the
    denominator is 0). Parameters as :class:`~xaispec.explain.gradcam.GradCAM`.
    """

    name = "gradcam++"
    plus_plus = True
