"""Benchmark: what the SLURM launcher costs per job, against joblib, on the same 4 jobs.

The sweep of tests/test_slurm.py -- Tweet(4) x target=logistic,xgboost x attack=svm,nn, one seed, small
settings (a job computes for about a second), stage cache off so every job does the same work whatever
the order -- runs once with `hydra/launcher=joblib` (n_jobs=2) and once with `hydra/launcher=slurm`
(2 CPUs free: two array tasks at a time), twice each in alternating order.  Printed, per launcher: the sweep's wall time and wall time per
job; for SLURM, per job from submitit's own files: submission to start (sbatch until the job's Python
logs its first line: queueing, scheduling, srun, interpreter start) and start to end, against the
job's in-process work (metrics.json timings_s.total).

Needs a SLURM cluster (`sinfo` works, with 2 free CPUs) or `--local-cluster`, which starts the
single-node test cluster of tests/slurm_cluster.py (slurm-wlm + munge, as root) for the run:
    SLURM_CONF=... .venv/bin/python bench/bench_slurm.py
    .venv/bin/python bench/bench_slurm.py --local-cluster
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ["dataset.per_class=300", "eval.size=150", "synthesis.n_records=800", "synthesis.burn_in=100",
            "mimic.epochs=20", "threads=1", "seed=0", "cache.enabled=false"]
ROUNDS = 2
GRID = ["dataset=tweet", "target=logistic,xgboost", "attack=svm,nn"]
STAMP = re.compile(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\)")


def sweep(launcher: list[str], workdir: Path, name: str, env: dict) -> tuple[float, Path]:
    sweep_dir = workdir / name
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "socinf_cli", "run", "-m", *SETTINGS, *GRID, *launcher,
                           f"hydra.sweep.dir={sweep_dir}", f"data.root={workdir / 'data'}"],
                          capture_output=True, text=True, env=env, cwd=workdir)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench_slurm: the {name} sweep failed:\n{proc.stderr[-3000:]}")
    if len(list(sweep_dir.glob("*/metrics.json"))) != 4 or list(sweep_dir.glob("*/failed.json")):
        raise SystemExit(f"bench_slurm: the {name} sweep did not complete its 4 jobs; see {sweep_dir}")
    return wall, sweep_dir


def _stamp(line: str) -> float:
    return datetime.strptime(STAMP.search(line).group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def slurm_jobs(sweep_dir: Path) -> list[tuple[float, float, float]]:
    """(submission to start, start to end, in-job work) in seconds for each job of a SLURM sweep."""
    submitted = next((sweep_dir / ".submitit").glob("*/*_submission.sh")).stat().st_mtime  # written just before sbatch
    rows = []
    for i in range(4):
        job_dir = sweep_dir / str(i)
        job_id = str(yaml.safe_load((job_dir / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["id"])
        lines = [ln for ln in (sweep_dir / ".submitit" / job_id / f"{job_id}_0_log.out").read_text().splitlines()
                 if ln.startswith("submitit INFO")]
        start, end = _stamp(lines[0]), _stamp(lines[-1])
        work = json.loads((job_dir / "metrics.json").read_text())["timings_s"]["total"]
        rows.append((start - submitted, end - start, work))
    return rows


def main() -> None:
    local = "--local-cluster" in sys.argv[1:]
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    cluster = None
    with tempfile.TemporaryDirectory(prefix="socinf-bench-slurm-") as tmp:
        workdir = Path(tmp)
        if local:
            sys.path.insert(0, str(ROOT / "tests"))
            from slurm_cluster import SlurmCluster, missing_binaries

            if missing_binaries():
                raise SystemExit(f"bench_slurm: --local-cluster needs {', '.join(missing_binaries())} "
                                 "(apt-get install slurm-wlm munge)")
            cluster = SlurmCluster(workdir / "cluster").start()
            env.update(cluster.env)
        elif subprocess.run(["sinfo"], capture_output=True, env=env).returncode != 0:
            raise SystemExit("bench_slurm: `sinfo` fails: no SLURM cluster here (set SLURM_CONF, or --local-cluster)")
        launchers = {"joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                     "slurm": ["hydra/launcher=slurm", "hydra.launcher.mem_gb=1"]}
        walls: dict[str, list[float]] = {"joblib": [], "slurm": []}
        try:
            # alternate the order, so a machine warming up (page cache) or busier in one half favours neither
            for r in range(ROUNDS):
                for name in (("joblib", "slurm") if r % 2 == 0 else ("slurm", "joblib")):
                    wall, sweep_dir = sweep(launchers[name], workdir, f"{name}{r}", env)
                    walls[name].append(wall)
                    if name == "slurm":
                        rows = slurm_jobs(sweep_dir)  # the last SLURM round's per-job figures
        finally:
            if cluster is not None:
                cluster.stop()
    joblib_wall, slurm_wall = min(walls["joblib"]), min(walls["slurm"])
    print(f"4-job sweep (Tweet(4) x logistic/xgboost x svm/nn, 1 seed, small settings, cache off), 2 at a time, "
          f"best of {ROUNDS}:")
    print(f"  joblib n_jobs=2          {joblib_wall:6.1f} s   {joblib_wall / 4:5.1f} s per job   "
          f"(all rounds: {', '.join(f'{w:.1f}' for w in walls['joblib'])})")
    print(f"  slurm (2 CPUs)           {slurm_wall:6.1f} s   {slurm_wall / 4:5.1f} s per job   "
          f"(all rounds: {', '.join(f'{w:.1f}' for w in walls['slurm'])})")
    print(f"  SLURM launcher overhead vs joblib: {(slurm_wall - joblib_wall) / 4:+.1f} s per job")
    print("  SLURM jobs (last round): submission->start   start->end   in-job work (s)")
    for i, (wait, run, work) in enumerate(rows):
        print(f"    job {i}        {wait:8.1f}        {run:8.1f}     {work:8.2f}")
    waits = [w for w, _, _ in rows]
    print(f"  mean submission->start of the first two jobs (no queueing behind the others): {sum(waits[:2]) / 2:.1f} s")


if __name__ == "__main__":
    main()
