"""Evaluation metrics against scikit-learn's, and the collision ceiling on hand-made cases."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score, roc_curve

from socinf.evaluation.metrics import collision_ceiling, membership_metrics


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y = np.repeat([1, 0], 500)
    scores = np.clip(rng.normal(0.55, 0.2, 1000) + 0.1 * y, 0, 1)
    m = membership_metrics(y, scores, threshold=0.6)
    d = (scores >= 0.6).astype(int)
    assert m["accuracy"] == accuracy_score(y, d)
    assert m["precision"] == precision_score(y, d)
    assert m["recall"] == recall_score(y, d)
    assert m["f1"] == f1_score(y, d)
    assert m["auc"] == roc_auc_score(y, scores)
    fpr, tpr, _ = roc_curve(y, scores)
    assert m["tpr_at_1pct_fpr"] == tpr[fpr <= 0.01].max() and m["fpr_realised_at_1pct"] <= 0.01
    assert m["advantage"] == recall_score(y, d) - d[y == 0].mean()


def test_tpr_at_low_fpr_of_a_perfect_and_a_useless_score():
    y = np.repeat([1, 0], 1000)
    perfect = membership_metrics(y, y.astype(float))
    assert perfect["tpr_at_0.1pct_fpr"] == 1.0 and perfect["auc"] == 1.0
    constant = membership_metrics(y, np.full(2000, 0.7))
    assert constant["tpr_at_1pct_fpr"] == 0.0 and constant["auc"] == 0.5 and constant["advantage"] == 0.0


def test_collision_ceiling_on_a_hand_made_case():
    a, b, c, d = [0, 0], [0, 1], [1, 0], [1, 1]
    train = np.array([a, b, c, a, a])
    members = np.array([a, a, b, c])  # drawn from the training set
    nonmembers = np.array([a, b, d, d])  # a and b collide with training vectors; d is unseen
    out = collision_ceiling(train, members, nonmembers)
    assert out["nonmember_collision_rate"] == 0.5
    # groups: a -> 2 members / 1 non-member (2 right), b -> 1/1 (1), c -> 1/0 (1), d -> 0/2 (2): 6 of 8
    assert out["ceiling_accuracy"] == 6 / 8
    assert out["distinct_eval_vectors"] == 4


def test_no_collision_means_no_ceiling():
    members = np.eye(4, dtype=np.uint8)
    nonmembers = 1 - np.eye(4, dtype=np.uint8)
    out = collision_ceiling(members, members, nonmembers)
    assert out["ceiling_accuracy"] == 1.0 and out["nonmember_collision_rate"] == 0.0


def test_bootstrap_auc_interval_equals_roc_auc_score_on_the_same_resamples():
    from sklearn.metrics import roc_auc_score

    from socinf.evaluation.verdict import bootstrap_auc_interval

    rng = np.random.default_rng(3)
    membership = np.r_[np.ones(300, int), np.zeros(200, int)]
    scores = np.round(rng.normal(membership * 0.4, 1.0), 1)  # rounded: many ties
    low, high = bootstrap_auc_interval(membership, scores, n_boot=50, seed=7)
    draw = np.random.default_rng(7)  # the function's resamples, drawn the same way
    inside, outside = scores[membership == 1], scores[membership == 0]
    a, b = inside[draw.integers(0, 300, (50, 300))], outside[draw.integers(0, 200, (50, 200))]
    values = [roc_auc_score(np.r_[np.ones(300), np.zeros(200)], np.r_[x, y]) for x, y in zip(a, b)]
    assert (low, high) == pytest.approx((np.percentile(values, 2.5), np.percentile(values, 97.5)), abs=1e-12)
    assert low < roc_auc_score(membership, scores) < high


def test_average_ranks_equal_scipys_rankdata_with_ties():
    from scipy.stats import rankdata

    from socinf.evaluation.verdict import average_ranks

    x = np.random.default_rng(0).integers(0, 5, (20, 30)).astype(float)
    assert np.array_equal(average_ranks(x), rankdata(x, axis=1))
