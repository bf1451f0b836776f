"""Sweeps as a user launches them: real `socinf run -m` subprocesses through the joblib and submitit
launchers, on slices of the real corpora; the stage cache, resume and the overfitting report."""
from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pytest

from socinf_runner import socinf

pytestmark = pytest.mark.slow  # real servers, subprocesses and sweeps

TINY = ["dataset.per_class=300", "eval.size=150", "synthesis.n_records=800", "synthesis.burn_in=100",
        "mimic.epochs=5", "method.baselines=false", "threads=1"]


def sweep(tmp: Path, data_dir: Path, overrides: list[str], name: str = "sweep", timeout: float = 300, env=None):
    """`socinf run -m` into tmp/<name> with its own data root and stage cache; (process, sweep dir)."""
    sweep_dir = tmp / name
    args = ["run", "-m", *TINY, *overrides, f"hydra.sweep.dir={sweep_dir}", f"data.root={tmp / 'data'}",
            f"cache.dir={tmp / 'cache'}"]
    return socinf(args, cwd=tmp, data_dir=data_dir, timeout=timeout, env_extra=env), sweep_dir


def metrics(job_dir: Path) -> dict:
    return json.loads((job_dir / "metrics.json").read_text())


def test_joblib_sweep_over_attack_models_reuses_the_cached_stages(tmp_path, shared_data_dir):
    proc, root = sweep(tmp_path, shared_data_dir, ["attack=svm,knn,nn,xgboost"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "hydra_joblib_launcher" in (root / "multirun.yaml").read_text()
    assert "Joblib.Parallel" not in proc.stderr + proc.stdout  # the launcher's repr stays off the terminal
    done = [line.split()[1:3] for line in proc.stdout.splitlines() if line.startswith("done ")]
    assert sorted(name for _, name in done) == ["attack=knn:", "attack=nn:", "attack=svm:", "attack=xgboost:"], \
        proc.stdout  # one line per job, each with its place among the sweep's jobs
    assert sorted(n for n, _ in done) == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"], proc.stdout
    assert "STRONGEST" not in proc.stdout and "job  overrides" in proc.stdout  # per-job tables in run.log only
    assert "STRONGEST" in (root / "0" / "run.log").read_text()
    jobs = [metrics(root / str(i)) for i in range(4)]
    assert all(m["complete"] for m in jobs)
    assert [m["method"]["attack_model"] for m in jobs] == ["svm", "knn", "nn", "xgboost"]
    assert all(m["target"] == jobs[0]["target"] for m in jobs)  # one target, trained once or loaded
    synthesis = [m["queries"]["per_stage"]["synthesis"] for m in jobs]
    n = jobs[0]["method"]["n_synthetic"]
    assert any(s == {"sent": n, "cached": 0} for s in synthesis[:2])  # a first job paid for X_s
    # jobs 2 and 3 start after job 0 or 1 has ended: the target's answers come from the cache, for free
    for m, s in zip(jobs[2:], synthesis[2:]):
        assert s == {"sent": 0, "cached": n}, s
        assert {"data", "target_model", "synthetic", "mimic"} <= set(m["cache_hits"])
        assert m["queries"]["per_stage"]["evaluation"]["sent"] == 300  # evaluation is always asked


def test_submitit_local_overfitting_sweep_and_its_report(tmp_path, shared_data_dir):
    proc, root = sweep(tmp_path, shared_data_dir, ["hydra/launcher=submitit_local", "experiment=overfitting",
                                                   "+experiment/overfit=xgboost_0,xgboost_5", "attack=svm"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list((root / ".submitit").glob("*/*_log.out"))  # ran as submitit jobs, not in this process
    low, high = metrics(root / "0"), metrics(root / "1")
    assert low["config"]["target"]["params"]["max_depth"] == 1 and high["config"]["target"]["params"]["max_depth"] == 12
    assert high["dataset"]["n_features"] > 200  # the experiment raises the keyword count
    assert high["target"]["overfitting_gap"] > low["target"]["overfitting_gap"] + 0.15
    report = socinf(["report", str(root)], cwd=tmp_path, data_dir=shared_data_dir)
    assert report.returncode == 0, report.stderr[-2000:]
    assert (root / "report" / "fig7_tweet4_xgboost_honest.png").stat().st_size > 10_000
    table = (root / "report" / "overfitting.md").read_text()
    rows = [ln for ln in table.splitlines() if ln.startswith("| learning_rate=")]  # the knob's varying params
    assert len(rows) == 2 and "max_depth=1 " in rows[0] and "max_depth=12 " in rows[1]  # ordered by gap
    assert f"{high['target']['overfitting_gap']:.3f}" in rows[1]
    # no SVM-attack job is a Table II job: no empty Table II, no "missing Table II cell" noise
    assert not (root / "report" / "table2.md").exists()
    assert "Nothing missing" in (root / "report" / "missing.md").read_text()
    # the two levels are different targets: every table keeps them apart (never a mean across levels)
    jobs = list(csv.DictReader((root / "report" / "runs.csv").open()))
    cells = {r["dataset"] for r in jobs}
    assert len(cells) == 2 and all(c.startswith("Tweet(4) [") and "max_depth=" in c for c in cells), cells


@pytest.mark.parametrize("launcher", ["joblib", "basic"])
def test_resume_reruns_only_the_failed_jobs(tmp_path, shared_data_dir, launcher):
    corpora = tmp_path / "corpora"  # a data dir holding the tweets only: the Weibo jobs fail
    corpora.mkdir()
    (corpora / "emoint").symlink_to(shared_data_dir / "emoint")
    # jobs 0..3: (seed 0, tweet) (seed 0, weibo) (seed 1, tweet) (seed 1, weibo): jobs 1 and 3 fail, not side by side
    grid = ["seed=0,1", "dataset=tweet,weibo", "target=logistic", f"data.dir={corpora}", f"hydra/launcher={launcher}"]
    proc, root = sweep(tmp_path, None, grid)
    assert proc.returncode == 2, proc.stderr[-2000:]  # failed jobs do not end the sweep, but are reported
    assert "socinf: error: 2 of 4 sweep jobs failed" in proc.stderr
    assert metrics(root / "0")["complete"] and metrics(root / "2")["complete"]
    assert not (root / "1" / "metrics.json").exists() and not (root / "3" / "metrics.json").exists()
    failure = json.loads((root / "1" / "failed.json").read_text())
    assert "weibo: missing file" in failure["error"]
    report = socinf(["report", str(root)], cwd=tmp_path, data_dir=None)
    assert "weibo: missing file" in (root / "report" / "missing.md").read_text(), report.stderr[-2000:]

    def untouched(job: Path):  # what launching a job rewrites: .hydra/*.yaml, its run.log (Hydra appends)
        return sorted((p.name, p.stat().st_mtime_ns, p.read_text()) for p in [*job.glob(".hydra/*"), *job.glob("*")]
                      if p.is_file())

    tweet_before = [untouched(root / "0"), untouched(root / "2")]
    (corpora / "weibo-smp2020-ewect").symlink_to(shared_data_dir / "weibo-smp2020-ewect")
    proc, _ = sweep(tmp_path, None, [*grid, "resume=true"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    # issue #14: the complete jobs are not launched at all (no worker, no .hydra/ rewrite, no run.log line) ...
    assert f"resume: 2 of 4 jobs already complete in {root}, not launched (0, 2); launching 2" in proc.stdout
    assert [untouched(root / "0"), untouched(root / "2")] == tweet_before
    assert sorted(re.sub(r"\[\d/2\] ", "", ln.split(":")[0]) for ln in proc.stdout.splitlines()
                  if ln.startswith(("done", "FAILED"))) == \
        ["done    seed=0 dataset=weibo", "done    seed=1 dataset=weibo"], proc.stdout  # one line per launched job
    assert "[2/2]" in proc.stdout  # counted among the jobs launched
    # ... and the failed jobs rerun in their own dirs, 1 and 3, not renumbered
    for job, seed in ((1, 0), (3, 1)):
        m = metrics(root / str(job))
        assert m["dataset"]["label"] == "Weibo(3)" and m["config"]["seed"] == seed, job
        assert not (root / str(job) / "failed.json").exists()
        assert f"hydra.sweep.subdir='{job}'" in (root / str(job) / ".hydra" / "hydra.yaml").read_text()  # pinned
    assert sorted(p.name for p in root.iterdir() if p.name.isdigit()) == ["0", "1", "2", "3"]
    assert "    num: 1\n" in (root / "1" / ".hydra" / "hydra.yaml").read_text()  # launched from the first missing job


def test_shipped_slurm_config_renders_the_batch_script(tmp_path, shared_data_dir):
    # No SLURM here: stand-in sbatch/srun keep the script submitit hands to sbatch, then refuse it.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sbatch", "srun"):
        (bin_dir / tool).write_text(f'#!/bin/sh\ncp "$1" {tmp_path}/script.sh\necho refused >&2\nexit 1\n')
        (bin_dir / tool).chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc, _ = sweep(tmp_path, shared_data_dir, ["hydra/launcher=slurm", "hydra.launcher.partition=short", "threads=3",
                                                "seed=0,1"], timeout=120, env=env)
    assert proc.returncode != 0 and "refused" in proc.stderr
    script = (tmp_path / "script.sh").read_text()
    for line in ("#SBATCH --partition=short", "#SBATCH --cpus-per-task=3", "#SBATCH --array=0-1%", "#SBATCH --time=120",
                 "export OMP_NUM_THREADS=3"):
        assert line in script, script


def test_parallel_jobs_wait_for_a_stage_another_job_is_computing(tmp_path):
    """Two processes asking for the same entry at once: one computes, the other loads its result."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_slow_stage, [(str(tmp_path), i) for i in range(2)])
    assert sorted(hit for _, hit in results) == [False, True]
    assert len({value for value, _ in results}) == 1  # both got the one computed value
    assert len(list((tmp_path / "slow").glob("*.npz"))) == len(list((tmp_path / "slow").glob("*.json"))) == 1


def _slow_stage(root: str, worker: int):
    import time

    from socinf.cache import StageCache

    def compute():
        time.sleep(1.0)  # long enough that the other worker asks while this one computes
        return f"computed by {worker}"

    return StageCache(root).get_or_compute("slow", "k", compute)
