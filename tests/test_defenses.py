"""Defenses (paper Section V): exact output coarsening, DP training, regularisation, label-only audits.

Real data throughout (slices of the Tweet corpus), a real `socinf serve` process on 127.0.0.1 for the
local-vs-served comparison, real `socinf` subprocesses and a real Hydra multirun for the sweep.
"""
from __future__ import annotations

import pickle

import httpx
import numpy as np
import pytest
from omegaconf import OmegaConf
from rich.console import Console

from socinf.attacks.label_only import gap_attack_scores
from socinf.cache import StageCache
from socinf_cli.compose import compose
from socinf.owner.defense_config import DefenseConfig
from socinf_cli.paths import prepare
from socinf.errors import ConfigError
from socinf.report import defenses as defense_report
from socinf.report.runs import load_runs
from socinf_cli.targets import model_params
from socinf.owner import defenses
from socinf.owner.models import accuracy
from socinf_runner import FAST, run_audit, socinf
from socinf_runner import KEY, start_server

SLICE = ["dataset=tweet", "dataset.per_class=300", "eval.size=150", "seed=0"]


def D(**kw) -> DefenseConfig:
    return OmegaConf.structured(DefenseConfig(**kw))


@pytest.fixture(scope="module")
def tweet_slice(shared_data_dir, tmp_path_factory):
    cfg = compose([*SLICE, f"data.dir={shared_data_dir}"])
    prepared, _, _ = prepare(cfg, StageCache(None), tmp_path_factory.mktemp("defdata"))
    return cfg, prepared


# ------------------------------------------------------------------ output defenses, exact

def test_round_top_k_label_only_exact_on_constructed_vectors():
    paper = np.array([[0.13, 0.27, 0.6]])
    assert defenses.round_probs(paper, 1).tolist() == [[0.1, 0.3, 0.6]]  # paper V.B's own example
    probs = np.array([[0.1, 0.5, 0.15, 0.25], [0.3, 0.3, 0.2, 0.2], [0.004, 0.006, 0.49, 0.5]])
    assert defenses.top_k_probs(probs, 2).tolist() == [[0, 0.5, 0, 0.25], [0.3, 0.3, 0, 0], [0, 0, 0.49, 0.5]]
    assert defenses.top_k_probs(probs, 1).tolist() == [[0, 0.5, 0, 0], [0.3, 0, 0, 0], [0, 0, 0, 0.5]]  # tie: lower index
    assert defenses.label_only_probs(probs).tolist() == [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    # composed: top-k first, then rounding; not renormalised
    both = defenses.apply_output_defense(probs, D(name="top_k", k=2, digits=1))
    assert both.tolist() == [[0, 0.5, 0, 0.2], [0.3, 0.3, 0, 0], [0, 0, 0.5, 0.5]]
    assert defenses.apply_output_defense(probs, D(name="round", digits=2)).tolist() == \
        [[0.1, 0.5, 0.15, 0.25], [0.3, 0.3, 0.2, 0.2], [0.0, 0.01, 0.49, 0.5]]


def test_row_sums_stay_inside_the_published_bounds():
    rows = np.random.default_rng(0).dirichlet(np.full(5, 0.7), size=20000)
    for kw in ({"name": "round", "digits": 1}, {"name": "round", "digits": 3}, {"name": "top_k", "k": 2},
               {"name": "top_k", "k": 1, "digits": 2}, {"name": "label_only"}, {"name": "dp", "epsilon": 1.0}):
        d = D(**kw)
        sums = defenses.apply_output_defense(rows, d).sum(axis=1) if defenses.has_output_defense(d) else rows.sum(1)
        low, high = defenses.row_sum_bounds(d, 5)
        assert (sums >= low - 1e-9).all() and (sums <= high + 1e-9).all(), kw
    deviation = np.abs(defenses.round_probs(rows, 1).sum(axis=1) - 1).max()
    assert 0.1 < deviation <= 5 * 0.05 + 1e-9  # digits=1 really drifts: a client must not insist on sum == 1


def test_bad_defense_settings_are_one_clear_error():
    for kw, needle in (({"name": "round"}, "defense.digits=null"), ({"name": "round", "digits": 0}, "defense.digits=0"),
                       ({"name": "top_k", "k": 0}, "defense.k=0"), ({"name": "none", "k": 1}, "defense=none"),
                       ({"name": "label_only", "digits": 2}, "defense=label_only"),
                       ({"name": "dp", "epsilon": 0.0}, "defense.epsilon=0.0"), ({"name": "blur"}, "defense='blur'")):
        with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
            defenses.check_defense(D(**kw), "logistic")


def test_local_outputs_identical_to_socinf_serve(tweet_slice, shared_data_dir, tmp_path):
    _, prepared = tweet_slice
    s = prepared.splits
    X = prepared.X[s.attacker[:200]].toarray()  # keyword records are CSR; the request sends rows as lists
    settings = {"round": ["defense.digits=1", "defense.k=2"], "label_only": []}  # round+top_k composed; one-hot
    servers = {name: start_server(tmp_path / name, [*SLICE, "serve.model=logistic", f"defense={name}", *extra],
                                  shared_data_dir) for name, extra in settings.items()}  # both start at once
    try:
        answers = {name: httpx.post(f"{server.url}/v1/predict", json={"instances": X.tolist()},
                                    headers={"X-API-Key": KEY}, timeout=60).json()["probabilities"]
                   for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    for name, extra in settings.items():
        local_cfg = compose([*SLICE, "target=logistic", "serve.model=logistic", f"defense={name}", *extra])
        model = defenses.fit_with_defense("logistic", model_params(local_cfg, local_cfg.serve.model), local_cfg.defense,
                                          prepared.X[s.members], prepared.y[s.members], 0, 1)
        local = defenses.defended(model, local_cfg.defense).predict_proba(X)
        assert np.array_equal(np.asarray(answers[name]), local), name
        assert not np.array_equal(local, model.predict_proba(X))  # the defense really changed the answers


# ------------------------------------------------------------------ training defenses

def test_dp_logistic_accuracy_falls_as_epsilon_falls(shared_data_dir, tmp_path):
    cfg = compose(["dataset=tweet", f"data.dir={shared_data_dir}", "defense=dp"])
    prepared, _, _ = prepare(cfg, StageCache(None), tmp_path)
    s = prepared.splits
    mean_acc = {}
    for epsilon in (0.1, 1.0, 10.0):
        d = OmegaConf.merge(cfg.defense, {"epsilon": epsilon})
        accs = []
        for seed in range(3):
            model = defenses.fit_with_defense("logistic", {"C": 1.0, "max_iter": 2000}, d, prepared.X[s.members],
                                              prepared.y[s.members], seed, 1)
            accs.append(accuracy(model, prepared.X[s.heldout], prepared.y[s.heldout]))
            info = defenses.describe(model, d)
            assert info["epsilon_spent"] == pytest.approx(epsilon) and info["delta"] == 0.0
        mean_acc[epsilon] = float(np.mean(accs))
    assert mean_acc[0.1] <= mean_acc[1.0] + 0.02 and mean_acc[1.0] <= mean_acc[10.0] + 0.02, mean_acc
    assert mean_acc[10.0] - mean_acc[0.1] > 0.1, mean_acc


def test_dp_sgd_mlp_reports_epsilon_spent_and_pickles(tweet_slice):
    cfg, prepared = tweet_slice
    s = prepared.splits
    d = OmegaConf.merge(compose(["defense=dp"]).defense, {"epsilon": 2.0, "params": {"mlp": {"epochs": 3}}})
    model = defenses.fit_with_defense("mlp", {"hidden_layer_sizes": [16]}, d, prepared.X[s.members],
                                      prepared.y[s.members], 0, 1)
    info = defenses.describe(model, d)
    assert 1.0 < info["epsilon_spent"] <= 2.0 * 1.001 and info["delta"] == 1e-5
    assert info["training"]["noise_multiplier"] > 0
    copy = pickle.loads(pickle.dumps(model))
    X = prepared.X[s.heldout]
    assert np.allclose(copy.predict_proba(X), model.predict_proba(X)) and np.allclose(model.predict_proba(X).sum(1), 1)


def test_regularize_narrows_the_overfitting_gap(tweet_slice):
    _, prepared = tweet_slice
    s = prepared.splits
    reg = compose(["defense=regularize"]).defense
    gaps = {}
    for name, d in (("none", D()), ("regularize", reg)):
        model = defenses.fit_with_defense("xgboost", {"n_estimators": 200, "max_depth": 6}, d,
                                          prepared.X[s.members], prepared.y[s.members], 0, 1)
        gaps[name] = accuracy(model, prepared.X[s.members], prepared.y[s.members]) - \
            accuracy(model, prepared.X[s.heldout], prepared.y[s.heldout])
    assert gaps["regularize"] < gaps["none"] - 0.03, gaps


def test_xgboost_with_dp_is_one_clear_error(shared_data_dir, tmp_path):
    proc, metrics = run_audit(tmp_path, shared_data_dir, ["dataset=tweet", "target=xgboost", "defense=dp"])
    assert proc.returncode == 2 and metrics is None
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("socinf: error: defense=dp with target=xgboost"), proc.stderr
    assert "no maintained differentially private trainer" in lines[0]


# ------------------------------------------------------------------ label-only answers, sweep, report

def test_gap_attack_is_correctly_classified():
    one_hot = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1.0]])
    assert gap_attack_scores(one_hot, np.array([1, 2, 2])).tolist() == [1.0, 0.0, 1.0]


def test_shadow_completes_against_label_only_outputs(shared_data_dir, tmp_path):
    proc, metrics = run_audit(tmp_path, shared_data_dir, ["dataset=tweet", "target=logistic", "defense=label_only",
                                                          "method=shadow", "method.n_models=2"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert metrics["complete"] and metrics["target"]["defense"]["output"]["label_only"]
    assert 0.0 <= metrics["attack"]["auc"] <= 1.0


@pytest.mark.slow
def test_defenses_sweep_names_xgboost_dp_before_it_starts_and_reports(shared_data_dir, tmp_path):
    """A real multirun of experiment=defenses (cut down): SocInf + baselines vs label-only answers complete,
    xgboost+dp cannot run and is named before the sweep starts, not launched (the experiment's
    hydra.sweeper.skip_impossible), and the report section writes its files."""
    sweep = tmp_path / "sweep"
    fast = [o for o in FAST if not o.startswith("method.baselines")]  # the experiment scores the baselines
    args = ["run", "-m", "experiment=defenses", "seeds=[0]", *fast,
            "+experiment/cell=tweet4", "target=logistic,xgboost", "+experiment/defense=label_only,dp_eps1",
            f"hydra.sweep.dir={sweep}", f"data.root={tmp_path / 'data'}"]
    proc = socinf(args, cwd=tmp_path, data_dir=shared_data_dir, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    skipped = [line for line in proc.stdout.splitlines() if line.startswith("not launched")]
    assert skipped == [line for line in skipped if "job 3 of 4: defense=dp with target=xgboost: XGBoost has no "
                       "maintained differentially private trainer" in line] and len(skipped) == 1, proc.stdout
    runs = load_runs(sweep)
    assert len(runs.complete) == 3 and len(runs.failed) == 0 and not (sweep / "3").exists()
    label_only = [r for r in runs.complete if r["target"]["defense"]["name"] == "label_only"]
    assert len(label_only) == 2
    for run in label_only:  # SocInf cannot split identical one-hot answers: it learns nothing, and says so
        assert run["method"]["n_out"] == 0 and run["attack"]["auc"] == 0.5 and run["baselines"]
    dp = next(r for r in runs.complete if r["target"]["defense"]["name"] == "dp")
    assert dp["target"]["defense"]["epsilon_spent"] == 1.0 and dp["target"]["test_accuracy"] < 0.6
    assert defense_report.applies(runs)
    paths = defense_report.write(runs, tmp_path / "report", Console(quiet=True))
    assert [p.name for p in paths] == ["defenses.md", "defenses.csv", "defenses_tweet4.png"]
    assert all(p.stat().st_size > 0 for p in paths)
    table = (tmp_path / "report" / "defenses.csv").read_text()
    assert "dp(eps=1)" in table and "label_only" in table and table.count("\n") == 4  # header + 3 settings
