"""Issue 23: the auditor's threat model (threat=owner) on real Tweet records against real models.

The owner's reference models are the size of the target's training set with every candidate IN for exactly
half of them, shared (cached) by LiRA, RMIA, the threshold attacks and Shadow training; they find a memorising
target, see nothing in one that never trained on the "members", stay finite on saturated answers, train in
parallel into the same models, and the command records and reports the threat model."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from socinf.attacks.base import AttackContext, AttackerKnowledge
from socinf.attacks.baselines import ThresholdAttacks
from socinf.attacks.lira import LiRA
from socinf.attacks.reference_jobs import ReferenceJobs
from socinf.attacks.references import ReferenceConfig, logit_confidence, train_references
from socinf.attacks.rmia import RMIA
from socinf.attacks.shadow import ShadowTraining
from socinf.cache import StageCache
from socinf.errors import ConfigError
from socinf.owner.models import fit_local_model
from socinf.targets.base import CountingTarget
from socinf_runner import run_audit, socinf
from test_lira_rmia import MEMORISER, tweets  # noqa: F401 - the module's 1,200 real Tweet(4) records

N_REFS = 8


def _owner_setup(tweets, trained_on, cache_root=None, threads=1):  # noqa: F811
    """A memorising target on ``trained_on``; 150 candidates of each kind; the owner holds every other record."""
    X, y, data_key, rows = tweets
    candidates = np.concatenate([rows["members"][:150], rows["heldout"]])
    rest = np.setdiff1d(np.arange(len(y)), candidates)
    model = fit_local_model(MEMORISER, {}, X[trained_on], y[trained_on], seed=0)
    target = CountingTarget(model, 4, X.shape[1])
    knowledge = AttackerKnowledge(X[rows["attacker"]], y[rows["attacker"]], 4, X.shape[1], target_size=300,
                                  threat="owner", X_owner=X[rest], y_owner=y[rest])
    ctx = AttackContext(seed=0, threads=threads, data_key=data_key, cache=StageCache(cache_root))
    return target, knowledge, ctx, (X[candidates], y[candidates])


def _scores(attack, target, knowledge, ctx, candidates) -> np.ndarray:
    attack.fit(target, knowledge, ctx, candidates=candidates)
    with target.stage("evaluation"):
        return attack.score(target.predict_proba(candidates[0]), candidates[1])


MEMBERSHIP = np.r_[np.ones(150), np.zeros(150)]


SMALL_XGB = {"n_estimators": 20}  # references the stage cache can hold (a random forest it cannot)


def test_owner_references_are_the_targets_size_and_hold_each_candidate_in_half_of_them(tweets, tmp_path):  # noqa: F811
    target, knowledge, ctx, candidates = _owner_setup(tweets, tweets[3]["members"], tmp_path / "cache")
    refs = train_references(ReferenceConfig(n_references=N_REFS), "xgboost", SMALL_XGB, target, knowledge, ctx,
                            candidates=candidates)
    assert (refs.cand_in.sum(axis=0) == N_REFS // 2).all()  # every candidate IN for exactly half
    assert (refs.cand_in.sum(axis=1) + refs.pool_in.sum(axis=1) == 300).all()  # the target's training-set size
    assert refs.X.shape == (900, candidates[0].shape[1]) and refs.report["threat"] == "owner"
    assert ctx.cache.hits == [] and target.ledger.sent == {}  # references cost no target query
    # a reference depends on its index only: the threshold attacks' four are the first four above, shared in
    # the run and, by a later run, from the stage cache
    ThresholdAttacks("xgboost", SMALL_XGB).fit(target, knowledge, ctx, candidates=candidates)
    assert len(ctx.models) == N_REFS and ctx.cache.hits == []
    later = AttackContext(seed=0, data_key=ctx.data_key, cache=StageCache(tmp_path / "cache"))
    thresholds = ThresholdAttacks("xgboost", SMALL_XGB)
    thresholds.fit(target, knowledge, later, candidates=candidates)
    assert later.cache.hits == ["reference"] * 4
    assert set(thresholds.thresholds_) >= {"loss", "confidence"}
    with pytest.raises(ConfigError, match="candidates=\\(X, y\\)"):
        ThresholdAttacks("xgboost", SMALL_XGB).fit(target, knowledge, ctx)


@pytest.mark.parametrize("attack", [LiRA(MEMORISER, n_references=N_REFS, online=True),
                                    LiRA(MEMORISER, n_references=N_REFS),
                                    RMIA(MEMORISER, n_references=N_REFS, online=True)],
                         ids=["lira-online", "lira-offline-out-references", "rmia-online"])
def test_owner_attacks_find_a_memorising_target(tweets, attack):  # noqa: F811
    target, knowledge, ctx, candidates = _owner_setup(tweets, tweets[3]["members"])
    scores = _scores(attack, target, knowledge, ctx, candidates)
    assert np.isfinite(scores).all() and roc_auc_score(MEMBERSHIP, scores) > 0.9
    assert target.ledger.sent["evaluation"] == 300 and set(target.ledger.sent) <= {"evaluation", "rmia_population"}


def test_owner_audit_of_a_target_that_never_trained_on_the_members_finds_nothing(tweets):  # noqa: F811
    members = tweets[3]["members"]
    target, knowledge, ctx, candidates = _owner_setup(tweets, members[150:])  # the "members" were never seen
    labelling = np.random.default_rng(1).permutation(MEMBERSHIP)
    for attack in (LiRA(MEMORISER, n_references=N_REFS, online=True), ShadowTraining(MEMORISER, n_models=4)):
        scores = _scores(attack, target, knowledge, ctx, candidates)
        assert abs(roc_auc_score(labelling, scores) - 0.5) < 0.07, attack.name


def test_saturated_answers_stay_finite_and_keep_their_float32_remainder():
    one_hot = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert np.isfinite(logit_confidence(one_hot, [0, 0])).all()  # p_y = 1.0 and p_y = 0.0: no NaN, no inf
    # float32 answers that round p_y to exactly 1.0 still differ in the other classes' mass
    p = np.array([[1.0, 1e-20, 0.0], [1.0, 1e-10, 0.0]], dtype=np.float32)
    phi = logit_confidence(p, [0, 0])
    assert p[0, 0] == p[1, 0] == 1.0 and phi[0] > phi[1] + 20


SATURATING = {"n_estimators": 300, "max_depth": 12, "learning_rate": 1.0, "reg_lambda": 0.0, "min_child_weight": 0.0}


def test_a_saturated_target_is_scored_by_owner_lira(tweets):  # noqa: F811
    """The overfitting experiment's level 5 (XGBoost 300 x 12): float32 confidences of exactly 1.0, where
    a logit of p_y alone is infinite (the peer tool's NaN)."""
    X, y, data_key, rows = tweets
    _, knowledge, ctx, candidates = _owner_setup(tweets, rows["members"])
    model = fit_local_model("xgboost", SATURATING, X[rows["members"]], y[rows["members"]], seed=0)
    target = CountingTarget(model, 4, X.shape[1])
    answers = model.predict_proba(candidates[0])
    assert (answers[np.arange(300), candidates[1]][:150] == 1.0).sum() >= 15  # members answered exactly 1.0
    scores = _scores(LiRA("xgboost", SATURATING, n_references=N_REFS, online=True), target, knowledge, ctx, candidates)
    assert np.isfinite(scores).all() and roc_auc_score(MEMBERSHIP, scores) > 0.8


def test_references_trained_side_by_side_are_the_models_trained_one_after_another(tweets):  # noqa: F811
    answers = []
    for threads in (1, 2):
        target, knowledge, ctx, candidates = _owner_setup(tweets, tweets[3]["members"], threads=threads)
        refs = train_references(ReferenceConfig(n_references=4), "xgboost", SMALL_XGB, target,
                                knowledge, ctx, candidates=candidates)
        answers.append(np.stack([m.predict_proba(candidates[0]) for m in refs.models]))
    assert np.array_equal(answers[0], answers[1])


@pytest.mark.slow
def test_cli_owner_run_records_and_reports_the_threat_model(tmp_path, shared_data_dir):
    proc, metrics = run_audit(tmp_path, shared_data_dir, ["method=lira", "method.n_references=4", "threat=owner",
                                                          "target=logistic"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert metrics["threat"] == "owner" and "threat=owner" in proc.stdout
    report = metrics["method"]["lira"]
    assert report["threat"] == "owner" and report["reference_size"] == metrics["dataset"]["splits"]["members"]
    assert report["candidates_per_reference"] == 150  # half of the 300 evaluation records
    assert metrics["reports"]["thresholds"] != {}  # cut-offs from the owner's references
    proc = socinf(["report", str(tmp_path / "run")], cwd=tmp_path, data_dir=None)
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs = (tmp_path / "run" / "report" / "runs.csv").read_text().splitlines()
    assert "threat" in runs[0].split(",") and "[threat=owner]" in runs[1] and ",owner," in runs[1]
    proc = socinf(["run", "threat=spy", f"hydra.run.dir={tmp_path / 'bad'}"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 2 and proc.stderr.strip() == \
        "socinf: error: threat='spy': expected one of attacker, owner", proc.stderr
    assert json.loads(json.dumps(metrics))["config"]["threat"] == "owner"


def test_bad_reference_jobs_settings_are_one_clear_line(tweets):  # noqa: F811
    import socinf

    X, y, _, rows = tweets
    members, nonmembers = [(X[rows[k][:20]], y[rows[k][:20]]) for k in ("members", "heldout")]
    with pytest.raises(ConfigError, match="reference_jobs.launcher='pbs': expected one of local, slurm"):
        socinf.audit(lambda X: np.full((len(X), 4), 0.25), members, nonmembers, reference_jobs={"launcher": "pbs"})
    # SLURM jobs hand their models back through the stage cache: without one, refused before any training
    target, knowledge, ctx, candidates = _owner_setup(tweets, rows["members"])
    ctx.reference_jobs = ReferenceJobs(launcher="slurm")
    with pytest.raises(ConfigError, match="reference_jobs.launcher=slurm: .* set cache.enabled=true"):
        LiRA("xgboost", SMALL_XGB, n_references=2).fit(target, knowledge, ctx, candidates=candidates)
