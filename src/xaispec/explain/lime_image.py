"""LIME for spectrograms with ``lime.lime_image.LimeImageExplainer`` and batched predictions.

The gray spectrogram is given to LIME as RGB (three equal channels) and turned back into
the model's one channel for prediction. Segments are either lime's quickshift superpixels
(the study's setting) or the time-frequency grid of :mod:`xaispec.explain.masking`.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from . import _model, masking
from .base import Explainer, check_choice, check_positive_int, register

SEGMENTATIONS = ("quickshift", "grid")


@register
class Lime(Explainer):
    """LIME weights of superpixels, painted on their cells.

    Parameters
    ----------
    segmentation : {"quickshift", "grid"}
        ``"quickshift"``: lime's default ``SegmentationAlgorithm('quickshift', kernel_size=4,
        max_dist=200, ratio=0.2)`` run on a copy of the spectrogram rescaled to [0, 1] (its Lab
        conversion expects that range; stock lime given the model's input as it is would segment
        the unscaled values, which for scaled dB spectrograms are mostly negative and give other
        segments); the explained image itself is not rescaled. ``"grid"``: ``n_freq_bands x
        n_time_bands`` rectangles.
    kernel_size, max_dist, ratio : float
        Quickshift settings.
    n_freq_bands, n_time_bands : int
        Grid settings.
    num_samples : int
        Perturbed copies per input (100, as the study).
    num_features : int
        Segments in the positive/negative ``mask`` (10, as the study); the map has all weights.
    top_labels : int or None
        Also fit the explanations of the k most probable classes (the study used 2 or 10);
        their labels are in ``extra["top_labels"]``. The target is always fitted.
    hide_color : {None, "mean", "min"}
        What a hidden segment becomes: None or ``"mean"``, each segment's own mean (lime's
        default); ``"min"``, the input's minimum: silence (-80 dB) on a dB spectrogram. A number
        is refused: in the model's input space 0 is not silence (0 dB is a dB spectrogram's
        loudest value, and after standardising 0 is its mean).
    seed : int
        Random state of lime and of quickshift: same seed, same result.
    batch_size : int
        Perturbed images per model call (lime itself defaults to 10; the study used 1).

    ``extra``: ``segments`` (n, *spatial) int32; ``mask`` (n, *spatial) int8, +1 for the
    ``num_features`` strongest positive segments, -1 for negative ones (as
    ``get_image_and_mask(..., positive_only=False, negative_only=False, hide_rest=False)``);
    ``intercept``, ``score`` (the local ridge fit's R^2) per sample.
    """

    name = "lime"
    bfloat16 = True  # bench/RESULTS.md: its bfloat16 maps agree with float32's
    defaults = {"segmentation": "quickshift", "kernel_size": 4, "max_dist": 200, "ratio": 0.2,
                "n_freq_bands": 8, "n_time_bands": 8, "num_samples": 100, "num_features": 10,
                "top_labels": None, "hide_color": None, "seed": 0, "batch_size": 64}

    def _check_params(self):
        p = self.params
        check_choice(self.name, "segmentation", p["segmentation"], SEGMENTATIONS)
        for key in ("num_samples", "num_features", "batch_size", "n_freq_bands", "n_time_bands"):
            check_positive_int(self.name, key, p[key])
        if p["top_labels"] is not None:
            check_positive_int(self.name, "top_labels", p["top_labels"])
        if len(_model.spatial_shape(self.model)) != 2:
            raise ParameterError(f"{self.name}: needs 2D (frequency x time) inputs, "
                                 f"the model takes {_model.input_shape(self.model)}")
        if p["hide_color"] not in (None, "mean", "min"):
            raise ParameterError(f"{self.name}: hide_color={p['hide_color']!r} must be None or 'mean' (each segment's "
                                 "mean) or 'min' (silence on a dB spectrogram); a number is not silence in the "
                                 "model's input space (0 dB is the loudest value)")

    def classifier(self, images: np.ndarray) -> np.ndarray:
        """Model probabilities for LIME's RGB images (m, F, T, 3), predicted in batches."""
        # the three channels are equal copies; their mean is the one-channel input
        gray = np.asarray(images, dtype=np.float32).mean(axis=-1)
        x = gray.reshape(len(gray), *_model.input_shape(self.model))
        return _model.predict(self.model, x, batch_size=self.params["batch_size"])

    def _segmenter(self):
        p = self.params
        if p["segmentation"] == "grid":
            return lambda image: masking.grid_segments(image.shape[:2], p["n_freq_bands"], p["n_time_bands"])
        from lime.wrappers.scikit_image import SegmentationAlgorithm

        quickshift = SegmentationAlgorithm("quickshift", kernel_size=p["kernel_size"], max_dist=p["max_dist"],
                                           ratio=p["ratio"], random_seed=p["seed"])

        def segment(image):
            # quickshift works in Lab colour space, which expects RGB values in [0, 1]
            lo, hi = float(image.min()), float(image.max())
            return quickshift((image - lo) / (hi - lo) if hi > lo else np.zeros_like(image))

        return segment

    def _explain(self, x, targets):
        LimeImageExplainer = _batched_lime()

        p = self.params
        spatial = _model.spatial_shape(self.model)
        probs = _model.predict(self.model, x, batch_size=p["batch_size"])
        maps = np.zeros((len(x), *spatial), dtype=np.float32)
        segments = np.zeros((len(x), *spatial), dtype=np.int32)
        mask = np.zeros((len(x), *spatial), dtype=np.int8)
        intercept = np.zeros(len(x), dtype=np.float32)
        score = np.zeros(len(x), dtype=np.float32)
        k = p["top_labels"] or 0
        top = np.argsort(-probs, axis=1)[:, :k]
        for i, xi in enumerate(x):
            # gray -> RGB, as the study gave the spectrogram to LIME
            rgb = np.repeat(xi.reshape(*spatial, 1), 3, axis=-1).astype(np.float64)
            hide = float(rgb.min()) if p["hide_color"] == "min" else None   # None: lime's segment means
            t = int(targets[i])
            # the target last: lime keeps the fit score of the last label it fits
            labels = (*[int(c) for c in top[i] if c != t], t)
            # a fresh explainer per sample keeps results independent of batch order
            exp = LimeImageExplainer(random_state=p["seed"]).explain_instance(
                rgb, self.classifier, labels=labels, top_labels=None, hide_color=hide,
                num_samples=p["num_samples"], batch_size=p["batch_size"], segmentation_fn=self._segmenter(),
                random_seed=p["seed"])
            segments[i] = exp.segments
            weights = np.zeros(exp.segments.max() + 1, dtype=np.float32)
            for seg, w in exp.local_exp[t]:
                weights[seg] = w
            maps[i] = weights[exp.segments]
            _, m = exp.get_image_and_mask(t, positive_only=False, negative_only=False, hide_rest=False,
                                          num_features=p["num_features"])
            mask[i] = m.astype(np.int8)  # +1 positive, -1 negative segments
            intercept[i] = exp.intercept[t]
            score[i] = exp.score
        extra = {"segments": segments, "mask": mask, "intercept": intercept, "score": score}
        if k:
            extra["top_labels"] = top.astype(np.int64)
        return maps, extra


def _batched_lime():
    """``LimeImageExplainer`` whose perturbations are built by :func:`masking.apply_mask`.

    lime 0.2.0.1 builds each perturbed image in a Python loop over segments behind a
    progress bar; this subclass draws the same random on/off table from the same random
    state (so results equal lime's own) and builds each batch in one vectorised call.
    """
    from lime.lime_image import LimeImageExplainer

    class BatchedLimeImageExplainer(LimeImageExplainer):
        def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples, batch_size=10,
                        progress_bar=False):
            n_features = np.unique(segments).shape[0]
            data = self.random_state.randint(0, 2, num_samples * n_features).reshape((num_samples, n_features))
            data[0, :] = 1  # the first sample is the unperturbed image
            labels = [classifier_fn(masking.apply_mask(image, segments, data[i:i + batch_size], fudged_image))
                      for i in range(0, num_samples, batch_size)]
            return data, np.concatenate(labels)

    return BatchedLimeImageExplainer
