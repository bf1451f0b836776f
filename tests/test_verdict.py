"""The verdict: a one-sided test per attack with Holm's correction, intervals that reflect n, an epsilon lower
bound that holds, a blind baseline, and warnings that qualify it. Fast tier: generated records and real
scikit-learn targets, audited through ``socinf.audit``."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from generated_corpus import english_corpus, keyword_table


@pytest.fixture(scope="module")
def records():
    """Keyword records of four emotions, split into the owner's half, held-out records and a population."""
    table = keyword_table(english_corpus(300, seed=3), 60)
    X = table.drop(columns="label").to_numpy(float)
    y = table.label.astype("category").cat.codes.to_numpy()
    order = np.random.default_rng(0).permutation(len(X))
    return X[order], y[order]


@pytest.fixture(scope="module")
def gaussian():
    """Records without duplicates: 20 Gaussian features, three classes from a noisy linear rule."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1600, 20))
    return X, (X @ rng.normal(size=(20, 3)) + rng.normal(scale=2.0, size=(1600, 3))).argmax(1)


def _tree(records):
    X, y = records
    return DecisionTreeClassifier(random_state=0).fit(X[:400], y[:400])  # grown to purity: it memorises


def _forest(records):
    X, y = records
    return RandomForestClassifier(n_estimators=30, random_state=0).fit(X[:400], y[:400])


def _audit(records, model, members=None, seed=0, **kwargs):
    import socinf

    X, y = records
    members = (X[:300], y[:300]) if members is None else members
    kwargs.setdefault("threat", "attacker")  # the outsider's sentences; the owner's (socinf.audit's default) below
    if kwargs["threat"] is None:  # socinf.audit's own default
        del kwargs["threat"]
    return socinf.audit(model, members, (X[400:700], y[400:700]), (X[700:], y[700:]), methods=["thresholds"],
                        seed=seed, **kwargs)


def test_strongest_names_the_highest_auc_and_the_highest_tpr_at_1pct():
    from socinf.evaluation.verdict import strongest

    membership = np.r_[np.ones(200, int), np.zeros(200, int)]
    rng = np.random.default_rng(0)
    scores = {"weak": rng.normal(membership * 0.1, 1), "broad": rng.normal(membership * 1.0, 1),
              "sharp": np.where(membership & (rng.random(400) < 0.3), 5.0, rng.normal(0, 1, 400))}
    from socinf.evaluation.metrics import membership_metrics

    metrics = {n: membership_metrics(membership, s) for n, s in scores.items()}
    best = strongest(metrics, scores, membership)
    assert best["by_auc"]["method"] == max(metrics, key=lambda n: metrics[n]["auc"]) == "broad"
    assert best["by_tpr_at_1pct_fpr"]["method"] == "sharp" and best["by_auc"]["auc"] == metrics["broad"]["auc"]
    low, high = best["by_auc"]["auc_ci95"]
    assert low < metrics["broad"]["auc"] < high


def test_a_real_audit_reports_its_strongest_attack(records):
    result = _audit(records, _tree(records))
    frame = result.to_frame()
    assert result.strongest["method"] == frame.method.iloc[0] and result.strongest["auc"] == frame.auc.max()
    by_tpr = result.run.strongest["by_tpr_at_1pct_fpr"]
    assert by_tpr["tpr_at_1pct_fpr"] == frame.tpr_at_1pct_fpr.max()
    assert result.verdict["tpr_at_1pct_fpr"]["method"] == by_tpr["method"]


def test_one_sided_p_values_agree_with_scipy_and_holm_adjusts_them():
    from scipy.stats import mannwhitneyu

    from socinf.evaluation.significance import auc_p_value, holm

    rng = np.random.default_rng(1)
    membership = np.r_[np.ones(150, int), np.zeros(170, int)]
    scores = np.round(rng.normal(membership * 0.2, 1), 1)  # ties
    expected = mannwhitneyu(scores[membership == 1], scores[membership == 0], alternative="greater").pvalue
    assert auc_p_value(membership, scores) == pytest.approx(expected, rel=1e-9)
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})
    tiny = auc_p_value(np.array([1, 0]), np.array([1.0, 0.0]))  # one of each: half the orderings favour members
    assert 0.45 < tiny < 0.55


def test_an_interval_reflects_the_number_of_records():
    """eval.size=1 reported AUC 1.0 with a 95% interval [1.0, 1.0]; at one record of each it is [0, 1]."""
    from socinf.evaluation.metrics import membership_metrics
    from socinf.evaluation.verdict import strongest

    for n, widest in ((1, 1.0), (10, 0.4)):
        membership = np.r_[np.ones(n, int), np.zeros(n, int)]
        scores = membership.astype(float)
        best = strongest({"perfect": membership_metrics(membership, scores)}, {"perfect": scores}, membership)["by_auc"]
        low, high = best["auc_ci95"]
        assert best["auc"] == 1.0 and high == 1.0 and 1.0 - low >= widest and best["auc_ci_method"] == "hoeffding"
    assert strongest({"p": membership_metrics(np.r_[1, 0], np.r_[1.0, 0.0])}, {"p": np.r_[1.0, 0.0]},
                     np.r_[1, 0])["by_auc"]["auc_ci95"] == [0.0, 1.0]


def test_a_tpr_at_a_low_fpr_is_flagged_when_the_non_members_cannot_resolve_it():
    from socinf.evaluation.metrics import membership_metrics

    def statuses(n0):
        m = membership_metrics(np.r_[np.ones(50, int), np.zeros(n0, int)], np.arange(50 + n0, dtype=float))
        return m["tpr_at_1pct_fpr_status"], m["tpr_at_0.1pct_fpr_status"]
    assert statuses(80) == ("unmeasurable", "unmeasurable")
    assert statuses(300) == ("coarse", "unmeasurable")
    assert statuses(1000) == ("ok", "coarse")


def test_the_epsilon_bound_holds_for_a_mechanism_of_known_epsilon():
    """Randomised response is exactly epsilon-DP: a member answers 1 with probability e^eps / (1 + e^eps), a
    non-member with 1 / (1 + e^eps). The bound must stay below epsilon (in 95% of trials) and approach it."""
    from socinf.evaluation.epsilon import epsilon_lower_bounds

    epsilon, rng = 1.0, np.random.default_rng(7)
    p_member = np.exp(epsilon) / (1 + np.exp(epsilon))

    def bound(n, seed):
        membership = np.r_[np.ones(n, int), np.zeros(n, int)]
        answers = (rng.random(2 * n) < np.where(membership == 1, p_member, 1 - p_member)).astype(float)
        return epsilon_lower_bounds({"rr": answers}, membership, 0.0, seed)["overall"]["epsilon_lower_bound"]
    trials = [bound(1000, s) for s in range(40)]
    assert sum(b > epsilon for b in trials) <= 4, trials
    assert 0.8 < bound(40_000, 0) <= epsilon


def test_negative_control_random_membership_is_not_a_leak_in_at_least_18_of_20(gaussian):
    """The target untouched, membership dealt at random among the evaluation records: nothing is detected."""
    X, y = gaussian
    model = _forest(gaussian)
    inside = np.r_[X[:300], X[400:700]], np.r_[y[:300], y[400:700]]
    detected = []
    for seed in range(20):
        pick = np.random.default_rng(seed).permutation(600)
        members = (inside[0][pick[:300]], inside[1][pick[:300]])
        nonmembers = (inside[0][pick[300:]], inside[1][pick[300:]])
        import socinf

        result = socinf.audit(model, members, nonmembers, (X[700:], y[700:]), methods=["thresholds"], seed=seed)
        detected.append(result.verdict["leak_detected"])
        assert result.verdict["severity"] in ("none", "low")
    assert sum(detected) <= 2, detected


def test_positive_control_a_memorising_model_leaks_with_the_highest_grade(gaussian):
    verdict = _audit(gaussian, _forest(gaussian)).verdict
    assert verdict["leak_detected"] and verdict["severity"] == "high" and verdict["p_value"] < 1e-6
    assert verdict["sentence"].startswith("An attacker who can query this model and holds 900 labelled records")
    assert "defense=dp" in verdict["sentence"] and "defense=regularize" in verdict["sentence"]
    assert verdict["epsilon_lower_bound"] > 0.5
    assert {w["code"] for w in verdict["warnings"]} == {"small_evaluation"}  # 300 non-members < 10/1%


def test_a_model_at_chance_is_flagged(records):
    constant = lambda X: np.tile([0.4, 0.2, 0.2, 0.2], (len(X), 1))  # noqa: E731 - one answer for everything
    verdict = _audit(records, constant, n_classes=4, algorithm=DecisionTreeClassifier()).verdict
    assert not verdict["leak_detected"] and verdict["severity"] == "none"
    assert "chance_utility" in {w["code"] for w in verdict["warnings"]}
    assert verdict["sentence"].startswith("No leak detected: an attacker who can query this model")


def test_the_blind_baseline_sees_members_that_differ_from_non_members(records):
    """Members of one class mix, non-members of another: a classifier that never queries the model separates
    them, and the verdict says the attacks may measure that."""
    X, y = records
    model = _tree(records)
    joy = np.flatnonzero(y[:400] == 2)
    other = 400 + np.flatnonzero(y[400:] != 2)
    result = _audit(records, model, members=(X[joy], y[joy]))
    import socinf

    shifted = socinf.audit(model, (X[joy], y[joy]), (X[other[:len(joy)]], y[other[:len(joy)]]), (X[700:], y[700:]),
                           methods=["thresholds"])
    assert shifted.verdict["blind_baseline_auc"] > 0.9
    assert "blind_baseline" in {w["code"] for w in shifted.verdict["warnings"]}
    assert result.verdict["blind_baseline_auc"] < shifted.verdict["blind_baseline_auc"]


def test_a_bound_above_the_claimed_epsilon_is_said_loudly(gaussian):
    from socinf.evaluation.judgement import judge

    result = _audit(gaussian, _forest(gaussian))
    run = result.run
    claim = {"defense": {"name": "dp", "epsilon": 0.1, "epsilon_spent": 0.1, "delta": 0.0}}
    verdict = judge(run.evidence, run.strongest, {**run.metrics, **run.baselines}, claim)
    assert verdict["epsilon"]["claimed"] == 0.1 and verdict["epsilon_lower_bound"] > 0.1
    loud = [w["message"] for w in verdict["warnings"] if w["code"] == "epsilon_exceeds_claim"]
    assert loud and "EXCEEDS THE CLAIMED EPSILON" in loud[0]


def test_the_verdict_names_the_owners_threat_model_when_the_result_has_one(records):
    assert _audit(records, _tree(records)).verdict["threat"] == "attacker"
    verdict = _audit(records, _tree(records), threat=None).verdict  # socinf.audit's default: the owner's view
    assert verdict["threat"] == "owner" and verdict["sentence"].startswith("In the owner's worst case")


def test_bad_verdict_settings_are_one_line_before_any_query(records):
    from socinf.errors import ConfigError

    calls = []

    def model(X):
        calls.append(len(X))
        return np.full((len(X), 4), 0.25)
    with pytest.raises(ConfigError, match=r"verdict.alpha=2: expected a number in \(0, 0.5\)"):
        _audit(records, model, n_classes=4, verdict={"alpha": 2})
    assert calls == []
