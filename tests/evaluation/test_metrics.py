"""Explanation metrics against closed-form cases: a linear model whose exact attributions are known.

The model ``f(x) = [w.x + b, -(w.x + b)]`` is linear in every cell, so removing a set ``S``
of cells (setting them to the baseline ``z``) changes the first output by exactly
``sum_{i in S} a_i`` with ``a = w * (x - z)``: the deletion curve of that map is a
cumulative sum, its faithfulness correlation is 1 and its infidelity (w.r.t. ``w``) is 0.
"""
from __future__ import annotations

import numpy as np
import pytest

from xaispec.errors import ParameterError
from xaispec.evaluation import (Forward, agreement_matrix, aopc, complexity, deletion, faithfulness_correlation,
                                infidelity, insertion, manipulation, mask_scores, region_perturbation, road,
                                spearman, sparseness, ssim)
from xaispec.evaluation.perturbation import thresholds
from xaispec.evaluation.road import impute

SHAPE = (6, 10)
FLOOR = -1.5


class Linear:
    """``x -> [w.x + b, -(w.x + b)]`` on (m, 6, 10) inputs; counts its calls."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.w = rng.normal(size=SHAPE)
        self.b = 0.3
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        s = (np.asarray(x, dtype=np.float64) * self.w).reshape(len(x), -1).sum(axis=1) + self.b
        return np.stack([s, -s], axis=1)


@pytest.fixture
def case():
    f = Linear()
    x = np.random.default_rng(1).uniform(FLOOR, 1.0, size=(3, *SHAPE)).astype(np.float32)
    exact = f.w[None] * (x.astype(np.float64) - FLOOR)
    return f, x, exact, np.zeros(3, dtype=np.int64)


def textbook_deletion(f, x, a, target, steps, base):
    """One perturbed copy and one model call per step, cells flipped in place (as Quantus does)."""
    order = np.argsort(-a.ravel(), kind="stable")
    counts = thresholds(a.size, steps)
    xp = x.astype(np.float32).ravel().copy()
    curve = [f(xp.reshape(1, *x.shape))[0, target]]
    for lo, hi in zip(counts[:-1], counts[1:]):
        xp[order[lo:hi]] = base
        curve.append(f(xp.reshape(1, *x.shape))[0, target])
    return np.asarray(curve)


def test_deletion_curve_of_exact_attributions_is_their_cumulative_sum(case):
    f, x, a, t = case
    score = deletion(f, x, a, t, baseline=FLOOR, steps=12)
    for i in range(len(x)):
        ranked = np.sort(a[i].ravel())[::-1]
        removed = np.concatenate([[0.0], np.cumsum(ranked)])[thresholds(a[i].size, 12)]
        np.testing.assert_allclose(score.curves[i], f(x[i:i + 1])[0, 0] - removed, atol=1e-4)
        np.testing.assert_allclose(score.curves[i], textbook_deletion(f, x[i], a[i], 0, 12, FLOOR), atol=1e-5)
        np.testing.assert_allclose(score.values[i], np.trapezoid(score.curves[i], np.linspace(0, 1, 13)), atol=1e-9)
    assert score.forward == 3 * 13 and score.params["baseline"] == FLOOR and score.params["steps"] == 12
    # the exact map removes the most evidence first: a lower area than its reverse and than noise
    reverse = deletion(f, x, -a, t, baseline=FLOOR, steps=12)
    noise = deletion(f, x, np.random.default_rng(5).random(a.shape), t, baseline=FLOOR, steps=12)
    assert np.all(score.values < noise.values) and np.all(noise.values < reverse.values)


def test_insertion_starts_from_the_baseline_and_ends_at_the_input(case):
    f, x, a, t = case
    score = insertion(f, x, a, t, baseline=FLOOR, steps=6)
    empty = f(np.full((1, *SHAPE), FLOOR))[0, 0]
    np.testing.assert_allclose(score.curves[:, 0], empty, atol=1e-4)
    np.testing.assert_allclose(score.curves[:, -1], f(x)[:, 0], atol=1e-4)
    ranked = np.sort(a.reshape(3, -1), axis=1)[:, ::-1]
    inserted = np.concatenate([np.zeros((3, 1)), np.cumsum(ranked, axis=1)], axis=1)[:, thresholds(60, 6)]
    np.testing.assert_allclose(score.curves, empty + inserted, atol=1e-4)
    assert score.higher_is_better and not deletion(f, x, a, t, baseline=FLOOR, steps=6).higher_is_better


def test_region_perturbation_aopc_in_closed_form(case):
    f, x, a, t = case
    patch = (3, 5)  # a 2 x 2 grid of regions on 6 x 10
    scores = aopc(f, x, a, t, baseline=FLOOR, patch=patch, regions=4, seed=3)
    for i in range(len(x)):
        sums = np.array([a[i, r:r + 3, c:c + 5].sum() for r in (0, 3) for c in (0, 5)])
        morf = np.concatenate([[0.0], np.cumsum(np.sort(sums)[::-1])])
        lerf = np.concatenate([[0.0], np.cumsum(np.sort(sums))])
        np.testing.assert_allclose(scores["aopc_morf"].values[i], morf.mean(), atol=1e-4)
        np.testing.assert_allclose(scores["aopc_lerf"].values[i], lerf.mean(), atol=1e-4)
        # every order removes all four regions in the end
        np.testing.assert_allclose(scores["aopc_random"].curves[i, -1], scores["aopc_morf"].curves[i, -1], atol=1e-4)
    gap = scores["aopc_morf_minus_lerf"].values
    assert np.all(gap > 0) and np.allclose(gap, scores["aopc_morf"].values - scores["aopc_lerf"].values)
    assert np.all(scores["aopc_morf"].values >= scores["aopc_random"].values - 1e-9)
    assert scores["aopc_morf"].curves.shape == (3, 5) and scores["aopc_random"].params["seed"] == 3
    with pytest.raises(ParameterError, match="order='up'"):
        region_perturbation(f, x, a, t, baseline=FLOOR, order="up")


def test_faithfulness_correlation_is_one_for_exact_attributions(case):
    f, x, a, t = case
    exact = faithfulness_correlation(f, x, a, t, baseline=FLOOR, subsets=20, subset_share=0.1, seed=0)
    np.testing.assert_allclose(exact.values, 1.0, atol=1e-6)
    np.testing.assert_allclose(faithfulness_correlation(f, x, -a, t, baseline=FLOOR, subsets=20,
                                                        subset_share=0.1).values, -1.0, atol=1e-6)
    flat = faithfulness_correlation(f, x, np.ones_like(a), t, baseline=FLOOR, subsets=20, subset_share=0.1)
    assert np.isnan(flat.values).all()  # every subset of a constant map has the same sum: no correlation
    assert exact.forward == 3 * 21


def test_infidelity_is_zero_for_the_exact_gradient_at_any_scale(case):
    f, x, a, t = case
    grad = np.broadcast_to(f.w, x.shape)
    np.testing.assert_allclose(infidelity(f, x, grad, t, draws=8).values, 0.0, atol=1e-10)
    np.testing.assert_allclose(infidelity(f, x, 7.5 * grad, t, draws=8).values, 0.0, atol=1e-10)
    wrong = infidelity(f, x, np.random.default_rng(2).normal(size=x.shape), t, draws=8)
    assert np.all(wrong.values > 1e-3) and wrong.params["normalize"] is True
    with pytest.raises(ParameterError, match="draws >= 2"):  # one draw is always fitted exactly
        infidelity(f, x, grad, t, draws=1)


def test_mask_metrics_in_closed_form(case):
    f, x, a, t = case
    positive = np.abs(a) + 1e-3  # every cell is evidence: the 100% mask keeps the whole input

    def probs(z):  # a two-class softmax of the linear scores, so that AD/AG are shares of a probability
        s = f(z)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    full = mask_scores(probs, x, positive, t, baseline=FLOOR, percents=(100,))
    np.testing.assert_allclose(full["fid_in_100"].values, (probs(x).argmax(axis=1) == 0).astype(float))
    np.testing.assert_allclose(full["ad_100"].values, 0.0, atol=1e-9)
    np.testing.assert_allclose(full["ai_100"].values, 0.0)
    np.testing.assert_allclose(full["ff_100"].values, probs(x)[:, 0] - probs(np.full((1, *SHAPE), FLOOR))[0, 0],
                               atol=1e-6)
    # the top 10% of the exact map: x_in and x_out by hand
    k = mask_scores(probs, x, a, t, baseline=FLOOR, percents=(10,))
    for i in range(3):
        keep = np.zeros(60, dtype=bool)
        keep[np.argsort(-a[i].ravel(), kind="stable")[:6]] = True
        keep &= a[i].ravel() > 0
        keep = keep.reshape(SHAPE)
        p = probs(x[i:i + 1])[0, 0]
        p_in = probs(np.where(keep, x[i], FLOOR)[None])[0, 0]
        p_out = probs(np.where(keep, FLOOR, x[i])[None])[0, 0]
        assert k["ai_10"].values[i] == 100.0 * (p_in > p)
        np.testing.assert_allclose(k["ad_10"].values[i], 100 * max(0.0, p - p_in) / p, atol=1e-6)
        np.testing.assert_allclose(k["ag_10"].values[i], 100 * max(0.0, p_in - p) / (1 - p), atol=1e-6)
        np.testing.assert_allclose(k["ff_10"].values[i], p - p_out, atol=1e-6)
    # a map without positive evidence masks nothing in: x_in is all baseline
    none = mask_scores(probs, x, -np.abs(a), t, baseline=FLOOR, percents=(20,))
    np.testing.assert_allclose(none["ff_20"].values, 0.0, atol=1e-9)


def test_sparseness_and_complexity_of_one_hot_uniform_and_empty_maps():
    one_hot = np.zeros((1, 4, 5))
    one_hot[0, 2, 3] = -3.0
    maps = np.concatenate([one_hot, np.full((1, 4, 5), 0.7), np.zeros((1, 4, 5))])
    np.testing.assert_allclose(sparseness(maps).values[:2], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(complexity(maps).values[:2], [0.0, np.log(20)], atol=1e-12)
    assert np.isnan(sparseness(maps).values[2]) and np.isnan(complexity(maps).values[2])
    # between the two: mass on half the cells
    half = np.zeros((1, 20))
    half[0, :10] = 1.0
    np.testing.assert_allclose(sparseness(half).values, 10 / 19, atol=1e-12)


def test_rank_agreement_against_scipy_and_ssim_against_skimage():
    from scipy.stats import spearmanr
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 9, 9)), rng.normal(size=(3, 9, 9))
    b[0] = a[0] * 2 + 1
    rho = spearman(a, b)
    for i in range(3):
        np.testing.assert_allclose(rho[i], spearmanr(a[i].ravel(), b[i].ravel()).statistic, atol=1e-12)
    assert rho[0] == pytest.approx(1.0)
    unit = lambda m: (m - m.min()) / np.ptp(m)  # noqa: E731
    np.testing.assert_allclose(ssim(a, b)[1], structural_similarity(unit(a[1]), unit(b[1]), data_range=1.0))
    table = agreement_matrix({"m1": a, "m2": b, "m3": -a})
    assert list(table.index) == ["m1", "m2", "m3"] and table.loc["m1", "m3"] == pytest.approx(-1.0)
    assert table.loc["m2", "m1"] == table.loc["m1", "m2"] == pytest.approx(rho.mean())


def test_noisy_linear_imputation_keeps_a_linear_field_and_leaves_kept_cells():
    i, j = np.mgrid[0:12, 0:15]
    field = (0.5 * i - 0.2 * j + 3.0).astype(np.float64)
    removed = np.zeros(field.shape, dtype=bool)
    removed[3:8, 4:11] = True  # interior: every neighbour weight is the full kernel
    filled = impute(field, removed, noise=0.0)
    np.testing.assert_allclose(filled, field, atol=1e-5)
    noisy = impute(field, removed, noise=0.01, rng=0)
    assert np.array_equal(noisy[~removed], field[~removed].astype(np.float32))
    assert 0 < np.abs(noisy - field)[removed].std() < 0.05 * np.ptp(field)
    # 1-D (mel features): the mean of the two neighbours
    line = impute(np.array([0.0, 9.0, 2.0, 9.0, 4.0]), np.array([0, 1, 0, 1, 0], bool), noise=0.0)
    np.testing.assert_allclose(line, [0, 1, 2, 3, 4])
    with pytest.raises(ParameterError, match="every cell"):
        impute(field, np.ones(field.shape, bool))


def test_road_morf_removes_more_evidence_than_lerf(case):
    f, x, a, t = case
    morf = road(f, x, a, t, percents=(20, 50, 80), order="morf", noise=0.0)
    lerf = road(f, x, a, t, percents=(20, 50, 80), order="lerf", noise=0.0)
    assert morf.curves.shape == (3, 3) and morf.forward == 9
    assert np.all(morf.values < lerf.values)
    assert not morf.higher_is_better and lerf.higher_is_better


def test_manipulation_accuracy_falls_sooner_along_the_evidence(case):
    f, x, a, _ = case
    labels = f(x).argmax(axis=1)
    shares = (0.0, 0.1, 0.3, 0.6, 1.0)
    exact = manipulation(f, x, a * np.where(labels == 0, 1, -1)[:, None, None], labels, baseline=FLOOR, shares=shares)
    assert np.all(exact.curves[:, 0] == 1.0)  # unchanged inputs are classified as labelled
    reverse = manipulation(f, x, -a * np.where(labels == 0, 1, -1)[:, None, None], labels, baseline=FLOOR,
                           shares=shares)
    assert exact.values.mean() <= reverse.values.mean()
    with pytest.raises(ParameterError, match="increasing"):
        manipulation(f, x, a, labels, baseline=FLOOR, shares=(0.5, 0.1))


def test_bad_batches_are_refused_with_the_shapes(case):
    f, x, a, t = case
    with pytest.raises(ParameterError, match=r"inputs of shape \(3, 6, 10\) and maps of shape \(2, 6, 10\)"):
        deletion(f, x, a[:2], t, baseline=FLOOR)
    with pytest.raises(ParameterError, match="steps=0"):
        deletion(f, x, a, t, baseline=FLOOR, steps=0)
    with pytest.raises(ParameterError, match="baseline='max'"):
        deletion(f, x, a, t, baseline="max")
    with pytest.raises(ParameterError, match="batch_size=0"):
        Forward(f, batch_size=0)


def test_forward_batches_and_counts_rows(case):
    f, x, a, t = case
    forward = Forward(f, batch_size=4)
    deletion(forward, x, a, t, baseline=FLOOR, steps=5)
    assert forward.rows == 18 and f.calls == forward.calls
    assert forward.calls <= 18 // 4 + 1  # full batches, not one call per perturbed copy
