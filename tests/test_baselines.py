"""Threshold attacks and Shadow training on real Tweet data against a deliberately overfit target."""
from __future__ import annotations

import numpy as np
import pytest

from socinf.attacks.baselines import (THRESHOLD_ATTACKS, ThresholdAttacks, attacker_side_thresholds,
                                          baseline_scores, best_threshold)
from socinf.evaluation.metrics import membership_metrics

# XGBoost with 2,000 keyword features, deep trees and no shrinkage: train accuracy ~1.0, test ~0.85.
OVERFIT = ["dataset=tweet", "dataset.n_keywords=2000", "target=xgboost", "target.params.max_depth=8",
           "target.params.n_estimators=150", "target.params.learning_rate=1.0", "eval.size=400",
           "method.n_models=2", "threads=1"]


def _cfg(tmp_path, shared_data_dir, extra=()):
    from socinf_cli.compose import compose

    return compose([*OVERFIT, f"data.dir={shared_data_dir}", f"data.root={tmp_path}",
                    f"cache.dir={tmp_path / 'cache'}", *extra])


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("baselines")


def test_scores_rank_a_confident_member_above_an_unsure_non_member():
    # rows: member (confident, right), non-member (unsure, right), non-member (confident, wrong)
    probs = np.array([[0.96, 0.02, 0.02], [0.50, 0.30, 0.20], [0.03, 0.95, 0.02]])
    labels = np.array([0, 0, 0])
    scores = baseline_scores(probs, labels)
    assert set(scores) == set(THRESHOLD_ATTACKS)
    for name, s in scores.items():
        if name != "gap":  # the gap attack sees only right vs wrong
            assert s[0] > s[1], name
    assert scores["gap"].tolist() == [1.0, 1.0, 0.0]
    # only the label-aware scores see that a confident wrong answer is not a member's
    assert scores["loss"][0] > scores["loss"][2] and scores["modified_entropy"][0] > scores["modified_entropy"][2]
    assert scores["confidence"][2] > scores["confidence"][1]


def test_best_threshold_separates_two_groups_and_breaks_at_the_gap():
    t = best_threshold(np.array([0.8, 0.9, 0.95]), np.array([0.1, 0.3, 0.6]))
    assert 0.6 < t < 0.8
    t_overlap = best_threshold(np.array([0.5, 0.7, 0.9]), np.array([0.1, 0.6, 0.2]))
    assert 0.1 < t_overlap <= 0.7


def test_threshold_attacks_on_known_members_with_attacker_side_thresholds(tmp_path, cache_dir, shared_data_dir):
    from socinf.attacks.base import AttackContext, AttackerKnowledge
    from socinf.cache import StageCache
    from socinf_cli.paths import prepare
    from socinf_cli.targets import open_target, query_all, shadow_algorithm

    cfg = _cfg(cache_dir, shared_data_dir)
    cache = StageCache(cache_dir / "cache")
    prepared, data_key, _ = prepare(cfg, cache, cache_dir)
    ctx = AttackContext(seed=0, cache=cache, data_key=data_key)
    with open_target(cfg, prepared, cache, data_key) as opened:
        s, target = opened.splits, opened.target
        knowledge = AttackerKnowledge(prepared.X[s.attacker], prepared.y[s.attacker], prepared.n_classes,
                                      prepared.X.shape[1])
        eval_idx = np.concatenate([s.eval_members, s.eval_nonmembers])
        membership = np.r_[np.ones(len(s.eval_members), int), np.zeros(len(s.eval_nonmembers), int)]
        probs = query_all(target, prepared.X[eval_idx], "evaluation")
        sent_before = target.ledger.as_dict()["sent"]
        attacks = ThresholdAttacks(*shadow_algorithm(cfg))
        attacks.fit(target, knowledge, ctx)
        scores = attacks.scores(probs, prepared.y[eval_idx])
        results = {n: membership_metrics(membership, scores[n], attacks.thresholds_[n]) for n in THRESHOLD_ATTACKS}
        assert target.ledger.as_dict()["per_stage"]["baselines"] == {"sent": 0, "cached": 0}
        assert target.ledger.as_dict()["sent"] == sent_before
        # thresholds come from attacker-side data only: the same without any evaluation record,
        # and the same whatever the evaluation membership says
        expected = attacker_side_thresholds(*shadow_algorithm(cfg), knowledge, ctx)
        shuffled = np.random.default_rng(0).permutation(membership)
        again = {n: membership_metrics(shuffled, scores[n], attacks.thresholds_[n]) for n in THRESHOLD_ATTACKS}
    assert opened.report["overfitting_gap"] > 0.08  # the target really is overfit
    for name in THRESHOLD_ATTACKS:
        assert results[name]["threshold"] == pytest.approx(expected[name]) == again[name]["threshold"]
        assert results[name]["auc"] > 0.55, (name, results[name])  # members score higher than non-members
        assert results[name]["accuracy"] > 0.52, (name, results[name])
        assert abs(again[name]["auc"] - 0.5) < abs(results[name]["auc"] - 0.5)  # a shuffled truth ranks nothing


def test_shadow_beats_chance_on_an_overfit_target(tmp_path, cache_dir, shared_data_dir):
    from socinf_cli.pipeline import run_audit

    cfg = _cfg(cache_dir, shared_data_dir, ["method=shadow"])
    result = run_audit(cfg, tmp_path)
    shadow = result["method"]["shadow"]
    assert result["method"]["name"] == "shadow" and shadow["n_models"] == 2 and shadow["attack_models"] == 4
    assert shadow["algorithm"] == "xgboost" and shadow["params"]["learning_rate"] == 1.0  # the target's own
    assert shadow["train_accuracy"] - shadow["test_accuracy"] > 0.05  # the shadows overfit like the target
    assert result["attack"]["auc"] > 0.55, result["attack"]
    assert result["attack"]["accuracy"] > 0.53, result["attack"]
    assert result["queries"]["per_stage"].keys() == {"evaluation", "baselines"}  # fitting asked the target nothing
    columns = (tmp_path / "membership_scores.csv").read_text().splitlines()[0].split(",")
    assert [c for c in columns if c.startswith("score_")] == [f"score_{n}" for n in THRESHOLD_ATTACKS]


def test_shadow_refuses_a_non_positive_model_count(cache_dir, shared_data_dir):
    from socinf.attacks.shadow import ShadowTraining
    from socinf.errors import ConfigError
    from socinf_cli.validate import validate

    with pytest.raises(ConfigError, match="method.n_models=0"):  # the CLI: before any work
        validate(_cfg(cache_dir, shared_data_dir, ["method=shadow", "method.n_models=0"]))
    with pytest.raises(ConfigError, match="method.n_models=0"):  # the library: when fitted
        ShadowTraining(n_models=0).fit(None, None, None)


def test_shadows_trained_threads_at_a_time_are_the_ones_trained_one_by_one():
    """threads=2 trains two shadows at once (one thread each): the same models, halves and answers as one by one."""
    from socinf.attacks.base import AttackContext, AttackerKnowledge
    from socinf.attacks.shadow import shadow_models

    rng = np.random.default_rng(0)
    X = (rng.random((300, 30)) < 0.2).astype(np.float32)
    y = (X[:, :3].sum(1) + rng.integers(0, 2, 300)) % 3
    knowledge = AttackerKnowledge(X, y, 3, 30)
    params = {"n_estimators": 20, "max_depth": 3}
    apart = shadow_models("xgboost", params, knowledge, 3, AttackContext(seed=4, threads=2))
    alone = shadow_models("xgboost", params, knowledge, 3, AttackContext(seed=4, threads=1))
    assert len(apart) == len(alone) == 3
    for (model_a, in_a, out_a), (model_b, in_b, out_b) in zip(apart, alone):
        assert np.array_equal(in_a, in_b) and np.array_equal(out_a, out_b)
        assert np.array_equal(model_a.predict_proba(X), model_b.predict_proba(X))
    assert not np.array_equal(apart[0][1], apart[1][1])  # each shadow its own half
