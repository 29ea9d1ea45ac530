"""Localisation metrics against masks whose answers are known by hand, and scikit-learn's AUC as the oracle."""
from __future__ import annotations

import numpy as np
import pytest

from xaispec.errors import ParameterError
from xaispec.evaluation.localisation import localisation


def test_a_map_on_the_mask_scores_one_and_one_beside_it_zero():
    g = np.zeros((2, 6, 8), dtype=bool)
    g[:, 1:3, 2:5] = True  # 6 cells of 48
    inside = np.where(g[0], 1.0, 0.0)
    outside = np.where(g[0], -1.0, 0.5)
    out = localisation(np.stack([inside, outside]), g)
    np.testing.assert_allclose(out["relevance_mass"].values, [1.0, 0.0])
    np.testing.assert_allclose(out["relevance_rank"].values, [1.0, 0.0])
    np.testing.assert_allclose(out["pointing_game"].values, [1.0, 0.0])
    np.testing.assert_allclose(out["localisation_auc"].values, [1.0, 0.0])


def test_partial_maps_by_hand_and_auc_against_scikit_learn():
    from sklearn.metrics import roc_auc_score

    g = np.zeros((1, 4, 5), dtype=bool)
    g[0, 0, :2] = True  # cells 0 and 1
    a = np.zeros((1, 4, 5))
    a[0, 0, 0] = 3.0   # in the mask
    a[0, 2, 2] = 1.0   # outside
    a[0, 3, 4] = -2.0  # negative attribution counts for no mass
    out = localisation(a, g)
    assert out["relevance_mass"].values[0] == pytest.approx(3 / 4)
    assert out["relevance_rank"].values[0] == pytest.approx(1 / 2)  # top 2: cell 0 (in), cell (2, 2) (out)
    assert out["pointing_game"].values[0] == 1.0
    rng = np.random.default_rng(0)
    maps, masks = rng.normal(size=(3, 9, 7)), rng.random((3, 9, 7)) < 0.3
    maps[0, :3] = 0.0  # ties
    auc = localisation(maps, masks)["localisation_auc"].values
    for i in range(3):
        assert auc[i] == pytest.approx(roc_auc_score(masks[i].ravel(), maps[i].ravel()))


def test_undefined_cases_are_nan_and_bad_shapes_named():
    g = np.zeros((2, 3, 3), dtype=bool)
    g[1] = True
    out = localisation(np.ones((2, 3, 3)), g)  # an empty mask and a full one
    assert np.isnan(out["relevance_mass"].values).all() and np.isnan(out["localisation_auc"].values).all()
    g2 = np.zeros((1, 3, 3), dtype=bool)
    g2[0, 0, 0] = True
    assert np.isnan(localisation(-np.ones((1, 3, 3)), g2)["relevance_mass"].values[0])  # no positive evidence
    with pytest.raises(ParameterError, match=r"maps of shape \(1, 3, 3\) and ground-truth masks of shape \(1, 4\)"):
        localisation(np.ones((1, 3, 3)), np.ones((1, 4), bool))
