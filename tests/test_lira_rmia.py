"""LiRA and RMIA on real Tweet records against real models: a target that memorises its members is found,
a target that never saw the candidates is not, synthetic references work without labelled records, the
reference models are shared through the stage cache, and the CLI refuses bad settings in one line."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from socinf.attacks.base import AttackContext, AttackerKnowledge
from socinf.attacks.lira import LiRA
from socinf.attacks.rmia import RMIA
from socinf.cache import StageCache
from socinf.errors import ConfigError
from socinf.owner.models import fit_local_model
from socinf.targets.base import CountingTarget
from socinf_runner import run_audit, socinf

MEMORISER = RandomForestClassifier(n_estimators=50)  # fully grown trees: members get near-certain answers
N_REFS = 8
SYNTHETIC = {"reference_data": "synthetic", "synthesis": {"name": "statistics", "n_records": 800, "burn_in": 100}}


@pytest.fixture(scope="module")
def tweets(tmp_path_factory, shared_data_dir):
    """1,200 real Tweet(4) records (300 per class, keyword features) split into the target's 300 members,
    150 held-out non-members and the attacker's 750 records."""
    from socinf_cli.paths import prepare
    from socinf_cli.compose import compose

    root = tmp_path_factory.mktemp("lira")
    cfg = compose(["dataset=tweet", "dataset.per_class=300", "dataset.n_keywords=2000", "eval.size=150",
                   f"data.dir={shared_data_dir}", f"data.root={root}"])
    prepared, data_key, _ = prepare(cfg, StageCache(None), root)
    perm = np.random.default_rng(0).permutation(len(prepared.y))
    return prepared.X, prepared.y, data_key, {"members": perm[:300], "heldout": perm[300:450], "attacker": perm[450:]}


def _attack_setup(tweets, trained_on, cache_root=None):
    X, y, data_key, rows = tweets
    model = fit_local_model(MEMORISER, {}, X[trained_on], y[trained_on], seed=0)
    target = CountingTarget(model, 4, X.shape[1])
    knowledge = AttackerKnowledge(X[rows["attacker"]], y[rows["attacker"]], 4, X.shape[1], target_size=len(trained_on))
    ctx = AttackContext(seed=0, data_key=data_key, cache=StageCache(cache_root))
    return target, knowledge, ctx


def _audit(attack, target, knowledge, ctx, X_c, y_c) -> np.ndarray:
    report = attack.fit(target, knowledge, ctx, candidates=(X_c, y_c))
    assert np.isfinite(report[attack.name]["threshold"])
    with target.stage("evaluation"):
        return attack.score(target.predict_proba(X_c), y_c)


@pytest.fixture(scope="module")
def memorised(tweets):
    X, y, _, rows = tweets
    candidates = np.concatenate([rows["members"][:150], rows["heldout"]])
    return X[candidates], y[candidates], np.r_[np.ones(150), np.zeros(150)]


@pytest.mark.parametrize("attack", [LiRA(MEMORISER, n_references=N_REFS), RMIA(MEMORISER, n_references=N_REFS),
                                    LiRA(MEMORISER, n_references=N_REFS, online=True)], ids=["lira", "rmia", "lira-online"])
def test_a_memorising_target_is_found(tweets, memorised, attack):
    target, knowledge, ctx = _attack_setup(tweets, tweets[3]["members"])
    scores = _audit(attack, target, knowledge, ctx, *memorised[:2])
    assert roc_auc_score(memorised[2], scores) > 0.9
    assert target.ledger.sent == {"evaluation": 300} or (attack.name == "rmia" and set(target.ledger.sent) ==
                                                         {"evaluation", "rmia_population"})


def test_lira_offline_sees_nothing_when_no_candidate_is_a_member(tweets):
    X, y, _, rows = tweets
    target, knowledge, ctx = _attack_setup(tweets, rows["members"][150:])  # trained without the candidates
    candidates = np.concatenate([rows["members"][:150], rows["heldout"]])
    labelling = np.random.default_rng(1).permutation(np.r_[np.ones(150), np.zeros(150)])  # "members" at random
    scores = _audit(LiRA(MEMORISER, n_references=N_REFS), target, knowledge, ctx, X[candidates], y[candidates])
    assert abs(roc_auc_score(labelling, scores) - 0.5) < 0.07


@pytest.mark.parametrize("cls", [LiRA, RMIA])
def test_synthetic_references_need_no_labelled_record(tweets, memorised, cls):
    target, knowledge, ctx = _attack_setup(tweets, tweets[3]["members"])
    knowledge.y_aux = np.full_like(knowledge.y_aux, -1)  # the attacker holds no label at all
    scores = _audit(cls(MEMORISER, n_references=N_REFS, **SYNTHETIC), target, knowledge, ctx, *memorised[:2])
    assert np.isfinite(scores).all() and roc_auc_score(memorised[2], scores) > 0.6
    assert target.ledger.sent["references"] == 800  # the target labelled the synthetic records
    assert "rmia_population" not in target.ledger.sent  # RMIA's z are those records: already answered


def test_lira_and_rmia_share_one_cached_reference_set_and_refuse_to_score_unfitted(tweets, memorised, tmp_path):
    target, knowledge, ctx = _attack_setup(tweets, tweets[3]["members"], tmp_path / "cache")
    with pytest.raises(NotFittedError):
        LiRA(MEMORISER).score(np.full((3, 4), 0.25), np.zeros(3, int))
    with pytest.raises(ConfigError, match="method.n_references=1"):  # the library checks too, when fitted
        LiRA(MEMORISER, n_references=1).fit(target, knowledge, ctx, candidates=memorised[:2])
    # the stage cache stores only classes on its allow-list (socinf/cache.py): XGBoost references are cached
    deep = {"n_estimators": 50, "max_depth": 12}
    lira = LiRA("xgboost", deep, n_references=2)
    lira.fit(target, knowledge, ctx, candidates=memorised[:2])
    assert ctx.cache.hits == []
    later = AttackContext(seed=0, data_key=ctx.data_key, cache=StageCache(tmp_path / "cache"))  # a later run
    RMIA("xgboost", deep, n_references=2).fit(target, knowledge, later, candidates=memorised[:2])
    assert later.cache.hits == ["reference", "reference"]
    with pytest.raises(ValueError, match="300 candidates"):
        lira.score(np.full((3, 4), 0.25), np.zeros(3, int))


def test_cli_lira_run_completes(tmp_path, shared_data_dir):
    proc, metrics = run_audit(tmp_path, shared_data_dir, ["method=lira", "method.n_references=4"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert metrics["method"]["name"] == "lira" and metrics["method"]["lira"]["n_references"] == 4
    assert 0.0 <= metrics["attack"]["auc"] <= 1.0 and metrics["queries"]["per_stage"]["evaluation"]["sent"] == 300


@pytest.mark.parametrize("overrides, expected", [
    ("method=lira method.n_references=1", "method.n_references=1: expected an integer in [2, 100000]"),
    ("method=lira method.online=true eval.nonmembers=attacker synthesis=population", "method.online=true"),
    ("method=rmia method.reference_data=synthetic synthesis=population", "method.reference_data=synthetic"),
    ("method=lira dataset.per_class=10 eval.size=4", "method.reference_data=population: the attacker's"),
])
def test_bad_reference_settings_give_one_clear_line(tmp_path, shared_data_dir, overrides, expected):
    proc = socinf(["run", *overrides.split(), "threads=1", f"hydra.run.dir={tmp_path / 'r'}",
                   f"data.root={tmp_path / 'data'}"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("socinf: error: ") and expected in lines[0], proc.stderr
    assert not (tmp_path / "r" / "metrics.json").exists()
