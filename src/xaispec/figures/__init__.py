"""Figures: they draw what they are given and never compute.

Every function returns a :class:`matplotlib.figure.Figure` and, given ``path``, writes a
PNG atomically. The modules: :mod:`.spectrograms` (a clip's waveform, spectrogram and
explanation overlays), :mod:`.shap` (SHAP values of tabular features), :mod:`.training`
(learning curves, confusion matrices), :mod:`.corpora` (recordings per speaker, feature
profiles per label), :mod:`.maps` (inputs beside their explanation maps), :mod:`.paths` (the
studies' figure file names), :mod:`.canvas` (pyplot-free figures, atomic saving).
"""
from .canvas import save_figure
from .paths import METHOD_DIRS, SAMPLE_KINDS, figure_path, method_name
from .shap import mel_feature_names, shap_bar, shap_beeswarm
from .spectrograms import (FIRST_FRAME, HOP, explanation_panel, overlay_study_gradcam, overlay_study_lime,
                           spectrogram, stft_extent, waveform)

__all__ = ["FIRST_FRAME", "HOP", "METHOD_DIRS", "SAMPLE_KINDS", "explanation_panel", "figure_path",
           "mel_feature_names", "method_name", "overlay_study_gradcam", "overlay_study_lime", "save_figure", "shap_bar",
           "shap_beeswarm", "spectrogram", "stft_extent", "waveform"]
