"""Issue #11 defect 3: sweep resume and failures. Real `socinf run -m` subprocesses (joblib launcher)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from socinf_runner import socinf

TINY = ["dataset.per_class=300", "synthesis.n_records=400", "synthesis.burn_in=50", "mimic.epochs=3",
        "method.baselines=false", "threads=1"]


def sweep_args(tmp: Path, overrides: list[str]) -> list[str]:
    return ["run", "-m", *TINY, *overrides, f"hydra.sweep.dir={tmp / 'sweep'}", f"data.root={tmp / 'data'}"]


def test_resume_matches_jobs_by_overrides_and_a_failed_job_fails_the_sweep(tmp_path, shared_data_dir):
    first = socinf(sweep_args(tmp_path, ["eval.size=100"]), tmp_path, shared_data_dir)
    assert first.returncode == 0, first.stderr[-2000:]
    job = tmp_path / "sweep" / "0"
    assert json.loads((job / "metrics.json").read_text())["config"]["eval"]["size"] == 100
    # the same sweep dir, other values: job 0 is now eval.size=90 and must not be "resumed" from size 100
    second = socinf(sweep_args(tmp_path, ["eval.size=90,99999", "resume=true"]), tmp_path, shared_data_dir)
    metrics = json.loads((job / "metrics.json").read_text())
    assert "eval.size=90" in yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
    assert metrics["config"]["eval"]["size"] == 90  # rerun: the dir's result is what its .hydra/ says
    assert "rerunning" in (job / "run.log").read_text()
    # job 1 (eval.size=99999) failed: the sweep finished job 0, then exited non-zero saying so, in one line
    assert second.returncode == 2, second.stderr[-2000:]
    assert second.stderr.strip().splitlines()[-1].startswith("socinf: error: 1 of 2 sweep jobs failed")
    assert (tmp_path / "sweep" / "1" / "failed.json").exists()
