"""Tables and verdicts from scores: bootstrap intervals, floors beaten, sanity passed, the discussion's wording."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaispec.evaluation import Score
from xaispec.evaluation.summary import (beats_floors, bootstrap_ci, discussion, long_table, method_table,
                                        sanity_verdicts, summarise)


def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_samples():
    rng = np.random.default_rng(0)
    small, large = rng.normal(1.0, 1.0, 10), rng.normal(1.0, 1.0, 1000)
    lo, hi = bootstrap_ci(small, seed=1)
    assert lo < small.mean() < hi
    lo2, hi2 = bootstrap_ci(large, seed=1)
    assert hi2 - lo2 < (hi - lo) / 4  # about 1/sqrt(100) as wide
    assert bootstrap_ci([np.nan, 2.0]) == (2.0, 2.0) and np.isnan(bootstrap_ci([np.nan])[0])
    assert bootstrap_ci(small, seed=1) == (lo, hi)  # seeded


def scores(values: dict[str, dict[str, list]]) -> pd.DataFrame:
    directions = {"deletion_auc": False, "insertion_auc": True, "mprt_spearman": False}
    table = long_table({m: {k: Score(k, v, directions[k]) for k, v in d.items()} for m, d in values.items()},
                       ["a", "b", "c"])
    return summarise(table, directions)


def test_floors_sanity_and_the_discussion_follow_the_numbers():
    summary = scores({
        "gradcam": {"deletion_auc": [0.1, 0.2, 0.1], "insertion_auc": [0.5, 0.6, 0.7], "mprt_spearman": [0.1, 0.0, 0.2]},
        "lime": {"deletion_auc": [0.5, 0.6, 0.6], "insertion_auc": [0.2, 0.2, 0.2], "mprt_spearman": [0.9, 0.8, 0.9]},
        "random": {"deletion_auc": [0.4, 0.4, 0.4], "insertion_auc": [0.3, 0.3, 0.3], "mprt_spearman": [1, 1, 1]},
        "energy": {"deletion_auc": [0.3, 0.3, 0.3], "insertion_auc": [0.4, 0.4, 0.4], "mprt_spearman": [1, 1, 1]},
    })
    assert beats_floors(summary, "deletion_auc") == {"gradcam": True, "lime": False}
    assert beats_floors(summary, "insertion_auc") == {"gradcam": True, "lime": False}
    assert sanity_verdicts(summary)["mprt_spearman"] == {"energy": False, "gradcam": True, "lime": False,
                                                         "random": False}
    text = discussion(summary, ["deletion_auc", "insertion_auc"], label=str.upper)
    assert "On deletion_auc, GRADCAM beat both floors; LIME do not." in text
    assert "fails for LIME" in text and "GRADCAM pass" in text
    table = method_table(summary, ["insertion_auc", "deletion_auc"])
    assert list(table.columns) == ["insertion_auc", "deletion_auc"]
    lo, hi = bootstrap_ci([0.1, 0.2, 0.1])
    assert table.loc["gradcam", "deletion_auc"] == f"{np.mean([0.1, 0.2, 0.1]):.3g} [{lo:.3g}, {hi:.3g}]"


def test_no_method_beating_the_floors_is_said_so():
    summary = scores({"gradcam": {"deletion_auc": [0.5, 0.5, 0.5]}, "random": {"deletion_auc": [0.4, 0.4, 0.4]},
                      "energy": {"deletion_auc": [0.45, 0.45, 0.45]}})
    assert "no method beats both floors" in discussion(summary, ["deletion_auc"])
    assert summary.set_index("method").loc["gradcam", "n"] == 3
    with pytest.raises(KeyError):
        summary.set_index("method").loc["lime"]
