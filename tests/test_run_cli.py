"""`socinf run` end to end, as a user types it: real subprocess, real Hydra, real corpora."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from socinf_runner import run_audit, socinf

REPORTED = {
    "attack": ["accuracy", "precision", "recall", "f1", "auc", "tpr_at_1pct_fpr", "fpr_realised_at_1pct",
               "tpr_at_0.1pct_fpr", "fpr_realised_at_0.1pct", "advantage"],
    "target": ["train_accuracy", "test_accuracy", "overfitting_gap"],
    "collision": ["nonmember_collision_rate", "ceiling_accuracy"],
    "timings_s": ["data", "target", "synthesis", "inout", "mimic", "attack_model", "evaluation", "total"],
}


@pytest.mark.slow
def test_tweet_xgboost_run_writes_every_figure(tmp_path, shared_data_dir):
    proc, m = run_audit(tmp_path, shared_data_dir, ["dataset=tweet", "target=xgboost"],
                        env_extra={"PYTHONPROFILEIMPORTTIME": "1"})  # Python lists every import on stderr
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "sklearn" in imported and "torch" not in imported  # issue 22: ~1 s of a run was importing torch
    for section, keys in REPORTED.items():
        for key in keys:
            assert m[section][key] is not None, (section, key)
    assert m["dataset"]["label"] == "Tweet(4)" and m["dataset"]["n_features"] == 200
    assert m["method"]["mimic"]["trained"]["label_agreement"] > m["method"]["mimic"]["untrained"]["label_agreement"]
    q = m["queries"]["per_stage"]
    assert q["synthesis"]["sent"] == m["method"]["n_synthetic"] and q["evaluation"]["sent"] == 300
    assert 0.0 <= m["attack"]["accuracy"] <= 1.0 and m["protocol"]["name"] == "honest"
    assert set(m["baselines"]) == {"confidence", "entropy", "modified_entropy", "loss", "gap"}
    assert q["baselines"]["sent"] == 0  # they reuse the evaluation answers
    scores = pd.read_csv(tmp_path / "run" / "membership_scores.csv")
    assert len(scores) == 300 and scores["member"].sum() == 150
    assert set(scores.columns) >= {"record_id", "member", "score", "decision"}
    assert (tmp_path / "run" / ".hydra" / "config.yaml").exists() and (tmp_path / "run" / "run.log").exists()
    assert "attack accuracy" in proc.stdout and "collision ceiling" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("overrides, label", [
    (["dataset.num_classes=2", "target=logistic", "synthesis=format"], "Tweet(2)"),
    (["dataset=weibo", "dataset.num_classes=5", "target=logistic", "attack=nn"], "Weibo(5)"),
    (["dataset=weibo", "dataset.num_classes=3", "target=xgboost", "synthesis=population", "eval.nonmembers=attacker"], "Weibo(3)"),
])
def test_other_corpora_targets_and_protocols_complete(tmp_path, shared_data_dir, overrides, label):
    proc, m = run_audit(tmp_path, shared_data_dir, overrides)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert m["dataset"]["label"] == label
    expected_protocol = "paper" if "synthesis=population" in overrides else "honest"
    assert m["protocol"]["name"] == expected_protocol


@pytest.mark.slow
def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path, shared_data_dir):
    runs = [run_audit(tmp_path, shared_data_dir, ["cache.enabled=false", f"seed={seed}"], name=f"r{i}")
            for i, seed in enumerate([3, 3, 4])]
    (_, a), (_, b), (_, c) = runs
    for key in ("attack", "target", "collision"):
        assert a[key] == b[key]
    assert a["method"]["mimic"] == b["method"]["mimic"]
    assert (tmp_path / "r0" / "membership_scores.csv").read_text() == (tmp_path / "r1" / "membership_scores.csv").read_text()
    assert a["attack"] != c["attack"] or a["target"] != c["target"]


@pytest.mark.slow
def test_rerun_in_the_same_dir_reuses_finished_stages_and_pays_no_queries_twice(tmp_path, shared_data_dir):
    first = run_audit(tmp_path, shared_data_dir, [])[1]
    (tmp_path / "run" / "metrics.json").unlink()  # as if interrupted before the end
    proc, again = run_audit(tmp_path, shared_data_dir, [])
    assert proc.returncode == 0
    assert {"data", "target_model", "synthetic", "mimic"} <= set(again["cache_hits"])
    syn = again["queries"]["per_stage"]["synthesis"]
    assert syn["sent"] == 0 and syn["cached"] == first["queries"]["per_stage"]["synthesis"]["sent"]
    assert again["attack"] == first["attack"]


@pytest.mark.parametrize("override, expected", [
    ("dataset.num_classes=7", "dataset.num_classes=7: tweet offers 2 or 4"),
    ("eval.size=100000", "eval.size=100000: at most"),
    ("dataset.n_keywords=-5", "dataset.n_keywords=-5: expected an integer in [1, 1000000] or null"),
    ("dataset.split=official dataset=weibo", "dataset.split=official: only tweet"),
    ("synthesis.accept=maybe", "synthesis.accept='maybe': expected one of new, confidence"),
])
def test_out_of_range_values_give_one_clear_line(tmp_path, shared_data_dir, override, expected):
    proc = socinf(["run", *override.split(), f"hydra.run.dir={tmp_path / 'r'}"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("socinf: error: ") and expected in lines[0], proc.stderr
    assert not (tmp_path / "r" / "metrics.json").exists()


def test_unknown_option_and_key_typo_are_hydra_errors_naming_the_choices(tmp_path, shared_data_dir):
    proc = socinf(["run", "target=xgbost"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 2 and proc.stderr.startswith("socinf: error: target=xgbost: no such option; did you "
                                                           "mean xgboost?") and proc.stderr.count("\n") == 1
    proc = socinf(["run", "target.max_dept=3"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "target.max_dept: no such key in target" in proc.stderr


def test_wrong_checksum_is_one_line_naming_file_hash_and_fixes(tmp_path, shared_data_dir):
    local = tmp_path / "corpora"
    shutil.copytree(shared_data_dir / "emoint", local / "emoint")
    bad = local / "emoint" / "joy-ratings-0to1.train.txt"
    bad.write_text(bad.read_text().replace("joy", "yoj", 1))
    proc = socinf(["run", f"data.dir={local}", f"data.root={tmp_path / 'data'}"], cwd=tmp_path, data_dir=None)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line and "joy-ratings-0to1.train.txt" in line
    assert "d34cdae6a142541b874924ff4f998e14b7175e18e3235b7a5a5ace132f569c16" in line
    assert "socinf data fetch tweet" in line and "SOCINF_DATA_DIR" in line


def test_help_lists_config_groups_and_cfg_job_prints_config(tmp_path, shared_data_dir):
    proc = socinf(["run", "--help"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    for group, options in (("dataset", "clue, csv, text, tweet*, weibo"), ("target", "logistic, mlp, remote, xgboost*"),
                           ("synthesis", "format, population, statistics*"), ("attack", "knn, nn, svm, xgboost*"),
                           ("defense", "dp, label_only, none*"), ("mimic", "gan*, gan_paper")):
        at = next(i for i, line in enumerate(lines) if line.split()[:1] == [group])  # its one-line description
        assert len(lines[at].split()) > 3 and lines[at + 1].strip().startswith(options), (group, lines[at:at + 2])
    assert "n_keywords" not in proc.stdout  # the config itself: --cfg job
    proc = socinf(["run", "--cfg", "job", "dataset=weibo"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 0 and "name: weibo" in proc.stdout and "per_class: 2000" in proc.stdout
    top = socinf(["--help"], cwd=tmp_path, data_dir=None)
    assert "run [overrides]" in top.stdout and "data fetch" in top.stdout and "report PATH" in top.stdout


def test_data_info_reports_checksums_counts_and_duplicates(tmp_path, shared_data_dir):
    proc = socinf(["data", "info", "tweet", f"data.root={tmp_path / 'data'}"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("SHA-256 OK") == 12 and "conflicting_dropped" in proc.stdout
    assert "tweet(4)" in proc.stdout and "tweet(2)" in proc.stdout


@pytest.mark.slow
def test_a_users_own_csv_table_is_audited_and_numeric_columns_need_population(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    X = (rng.random((1200, 12)) < 0.3).astype(int)
    age = rng.integers(18, 80, 1200)
    label = (X[:, 0] + 2 * X[:, 1] + (age > 50) + rng.integers(0, 2, 1200)) % 3
    table = pd.DataFrame(X, columns=[f"kw{i}" for i in range(12)]).assign(age=age, label=label)
    table.to_csv(tmp_path / "own.csv", index=False)
    base = ["dataset=csv", f"dataset.path={tmp_path / 'own.csv'}", "eval.size=200"]
    proc, m = run_audit(tmp_path, None, base + ["synthesis=population"], fast=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert m["dataset"]["label"] == "CSV(3)" and m["dataset"]["n_features"] == 13
    proc, _ = run_audit(tmp_path, None, base, name="stats", fast=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("socinf: error: synthesis=statistics: samples binary features, but 1 feature "
                                   "column(s) (first: index 12) hold other values; use synthesis=population")
