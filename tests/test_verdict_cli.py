"""`socinf run` prints its verdict first and writes it, with exposure.csv; the positive control (a saturated
XGBoost target) gets the highest grade, a DP target at chance utility is flagged, and shuffled membership (the
negative control) detects nothing. Real subprocess runs on slices of the real Tweet corpus."""
from __future__ import annotations

import csv

import pytest

from socinf_runner import run_audit

pytestmark = pytest.mark.slow
SMALL = ["synthesis.n_records=800", "synthesis.burn_in=100", "mimic.epochs=20", "threads=1"]


def test_a_run_prints_the_verdict_first_and_writes_it_with_the_exposed_records(tmp_path, shared_data_dir):
    proc, metrics = run_audit(tmp_path, shared_data_dir, ["dataset=tweet", "target=xgboost", "report.show_texts=true"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    verdict = metrics["verdict"]
    assert set(verdict) >= {"leak_detected", "p_value", "severity", "sentence", "epsilon_lower_bound",
                            "blind_baseline_auc", "warnings", "threat"}
    first = proc.stdout.lstrip().splitlines()[0]
    assert first.startswith("VERDICT: ") and f"severity {verdict['severity']}" in first
    assert verdict["sentence"][:40] in " ".join(proc.stdout.split())
    with open(tmp_path / "run" / "exposure.csv") as f:
        exposed = list(csv.DictReader(f))
    assert len(exposed) == 150 and set(exposed[0]) == {"rank", "record_id", "score", "nonmember_percentile", "label",
                                                       "attack", "text"}
    assert exposed[0]["label"] in metrics["dataset"]["classes"] and exposed[0]["text"].strip()
    assert float(exposed[0]["score"]) >= float(exposed[-1]["score"])


def test_positive_control_the_saturated_xgboost_target_leaks_with_the_highest_grade(tmp_path, shared_data_dir):
    proc, metrics = run_audit(tmp_path, shared_data_dir, ["experiment=overfitting", "+experiment/overfit=xgboost_5",
                                                          *SMALL], fast=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    verdict = metrics["verdict"]
    assert verdict["leak_detected"] and verdict["severity"] == "high", verdict["sentence"]
    assert "small_evaluation" in {w["code"] for w in verdict["warnings"]}  # 300 non-members for a 1% FPR


def test_a_dp_target_at_chance_utility_is_flagged(tmp_path, shared_data_dir):
    proc, metrics = run_audit(tmp_path, shared_data_dir, ["dataset=tweet", "target=logistic", "defense=dp",
                                                          "defense.epsilon=1", "mimic.epochs=5"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    verdict = metrics["verdict"]
    assert "chance_utility" in {w["code"] for w in verdict["warnings"]}, verdict
    assert verdict["epsilon"]["claimed"] == 1.0 and verdict["epsilon_lower_bound"] <= 1.0
    assert "WARNING: the target's test accuracy" in " ".join(proc.stdout.split())


def test_shuffled_membership_is_a_negative_control(tmp_path, shared_data_dir):
    proc, metrics = run_audit(tmp_path, shared_data_dir, ["dataset=tweet", "target=xgboost", "eval.shuffle_membership=true",
                                                          "mimic.epochs=5"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    verdict = metrics["verdict"]
    assert not verdict["leak_detected"] and "negative_control" in {w["code"] for w in verdict["warnings"]}
    assert metrics["evaluation"]["members"] == metrics["evaluation"]["nonmembers"] == 150
