"""Measuring explanations: faithfulness, masks, sanity, robustness, complexity, agreement, manipulation.

One family of metrics per module, each returning :class:`~xaispec.evaluation.base.Score`
(per-sample values, the curve behind them, every setting they depend on and the forward
rows they cost). Metrics query a model through :class:`~xaispec.evaluation.base.Forward`
in full batches; "removing" a cell sets it to a baseline in the model's input space (the
silence floor), or imputes it (ROAD). Importing this package does not import TensorFlow.
"""
from .agreement import agreement, agreement_matrix, spearman, ssim
from .base import Forward, Score
from .complexity import complexity, sparseness
from .localisation import localisation
from .faithfulness import aopc, deletion, faithfulness_correlation, infidelity, insertion, region_perturbation
from .manipulation import manipulation
from .masks import mask_scores
from .road import road
from .robustness import max_sensitivity
from .sanity import cascading_randomisation, random_logit, recompute_with
from .sound import sound_scores

__all__ = ["Forward", "Score", "agreement", "agreement_matrix", "aopc", "cascading_randomisation", "complexity",
           "deletion", "faithfulness_correlation", "infidelity", "insertion", "localisation", "manipulation", "mask_scores",
           "max_sensitivity", "random_logit", "recompute_with", "region_perturbation", "road", "sound_scores", "sparseness",
           "spearman", "ssim"]
