"""Sweeps on a real SLURM cluster through the shipped launcher config (`hydra/launcher=slurm`).

A session fixture starts a single-node cluster (tests/slurm_cluster.py: slurmctld, slurmd and
munged of Debian's slurm-wlm / munge, in a temp dir); `socinf run -m` submits real sbatch array jobs
to it through submitit.  Skipped, with the reason, on a machine without those programs or not root;
`.ci/run` installs them, so CI runs these.  See README "Running on a cluster".
"""
from __future__ import annotations

import csv
import functools
import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from loopback import LoopbackHTTP
from slurm_cluster import SlurmCluster, missing_binaries
from socinf_runner import socinf

pytestmark = pytest.mark.slurm

# Tiny but real: every stage runs, a job takes seconds.  mem_gb: the shipped 4 GB per job would not
# let two jobs share a small CI machine's node.
TINY = ["dataset.per_class=300", "eval.size=150", "synthesis.n_records=800", "synthesis.burn_in=100",
        "mimic.epochs=20", "threads=1", "seed=0"]
SLURM = ["hydra/launcher=slurm", "hydra.launcher.mem_gb=1"]
GRID = ["dataset=tweet", "target=logistic,xgboost", "attack=svm,nn"]  # Tweet(4) x 2 targets x 2 attacks
COMPARED = ("attack", "baselines", "target", "method")  # what a job computed; not timings, not query counts


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        reason = f"SLURM not installed (no {', '.join(missing)}): apt-get install slurm-wlm munge"
        if os.environ.get("CI"):
            pytest.fail(reason + " - .ci/run installs them, so CI must not skip these tests")
        pytest.skip(reason)
    if os.geteuid() != 0:
        pytest.skip("the SLURM test cluster runs its daemons as root (SlurmUser=root); run the tests as root")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm-cluster")).start()
    yield cluster
    cluster.stop()


def sweep_args(tmp: Path, name: str, overrides: list[str], cache: str = "cache") -> list[str]:
    return ["run", "-m", *TINY, *overrides, f"hydra.sweep.dir={tmp / name}", f"data.root={tmp / 'data'}",
            f"cache.dir={tmp / cache}"]


def metrics(job_dir: Path) -> dict:
    return json.loads((job_dir / "metrics.json").read_text())


def slurm_job_id(job_dir: Path) -> str:
    """The SLURM id (array_task) that ran a job: submitit's JobEnvironment, saved by Hydra as hydra.job.id."""
    return str(yaml.safe_load((job_dir / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["id"])


def ended_states(cluster: SlurmCluster, array: str, timeout: float = 60) -> dict[str, str]:
    """{array task id: state} once no task of the array is pending, running or completing."""
    deadline = time.monotonic() + timeout
    while True:
        out = cluster.client("squeue", "--states=all", "-h", "-o", "%i %T", "-j", array).stdout
        states = dict(line.split() for line in out.splitlines() if line.strip())
        if not {"PENDING", "RUNNING", "COMPLETING"} & set(states.values()) or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def missing_rows(sweep_dir: Path) -> list[dict]:
    with open(sweep_dir / "report" / "missing.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_slurm_sweep_equals_the_joblib_sweep_and_shares_the_stage_cache(tmp_path, shared_data_dir, slurm):
    # array_parallelism=2: two jobs at a time on any node, which the cache checks below count on
    proc = socinf(sweep_args(tmp_path, "slurm", [*SLURM, *GRID, "hydra.launcher.array_parallelism=2"]),
                  cwd=tmp_path, data_dir=shared_data_dir, env_extra=slurm.env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    root = tmp_path / "slurm"
    script = next((root / ".submitit").glob("*/*_submission.sh")).read_text()
    assert "#SBATCH --array=0-3%2" in script and shlex.quote(sys.executable) in script  # one array, this Python
    ids = [slurm_job_id(root / str(i)) for i in range(4)]
    array = ids[0].split("_")[0]
    assert ids == [f"{array}_{i}" for i in range(4)], ids
    # slurmctld ran them: every array task ends COMPLETED (a task's result is written a moment before
    # its process, srun and the batch script have exited)
    assert ended_states(slurm, array) == {i: "COMPLETED" for i in ids}

    proc = socinf(sweep_args(tmp_path, "joblib", GRID, cache="joblib-cache"), cwd=tmp_path,
                  data_dir=shared_data_dir, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for i in range(4):
        on_slurm, on_joblib = metrics(root / str(i)), metrics(tmp_path / "joblib" / str(i))
        assert on_slurm["complete"] and on_joblib["complete"]
        for section in COMPARED:
            assert on_slurm[section] == on_joblib[section], (i, section)

    # Jobs 0,1 (logistic) and 2,3 (xgboost) run two at a time and each pair shares a target:
    # the stage cache in the shared cache.dir lets one job of each pair reuse the other's X_s.
    jobs = [metrics(root / str(i)) for i in range(4)]
    n = jobs[0]["method"]["n_synthetic"]
    for pair in (jobs[:2], jobs[2:]):
        sent = sorted(m["queries"]["per_stage"]["synthesis"]["sent"] for m in pair)
        assert sent == [0, n], sent
        reused = next(m for m in pair if m["queries"]["per_stage"]["synthesis"]["sent"] == 0)
        assert reused["queries"]["per_stage"]["synthesis"]["cached"] == n
        assert "synthetic" in reused["cache_hits"]
        # the pair's target is trained once, by whichever job took its lock first (not always the one that
        # later loses the race for the synthesis lock)
        assert sum("target_model" in m["cache_hits"] for m in pair) == 1, [m["cache_hits"] for m in pair]
    assert all("data" in m["cache_hits"] for m in jobs[2:])  # started after job 0 or 1 had split the corpus


class GatedMirror(http.server.SimpleHTTPRequestHandler):
    """A corpus mirror (``data.url_base``) that holds every request until ``gate`` is set."""

    gate: threading.Event

    def do_GET(self):
        self.gate.wait(300)
        super().do_GET()

    def log_message(self, *args):
        pass


def job_id_once_written(job_dir: Path, run: subprocess.Popen, err, timeout: float = 120) -> str:
    """The SLURM id of a job, read from its hydra.yaml as soon as Hydra has written the whole file (it is
    created before it is written: a read in between sees an empty or partial document)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return slurm_job_id(job_dir)
        except (OSError, TypeError, KeyError, yaml.YAMLError):
            if run.poll() is not None or time.monotonic() > deadline:
                err.seek(0)
                pytest.fail(f"{job_dir.name} never started:\n{err.read()[-3000:]}")
            time.sleep(0.05)


def test_scancel_is_reported_missing_and_resume_reruns_only_that_job(tmp_path, shared_data_dir, slurm):
    # Job 1 reads its corpus from a mirror that answers nothing until the test lets it: it is still running when
    # scancel's signals reach it, however fast the machine. (They take seconds: SIGTERM, which submitit ignores
    # as SLURM's preemption notice, then SIGKILL; measured ~4.7 s on a loaded 2-core machine. Job 1 used to be
    # a 400-epoch mimic, which a fast machine could finish first: the flake of issue 20.)
    gate = threading.Event()
    mirror = LoopbackHTTP(functools.partial(type("Mirror", (GatedMirror,), {"gate": gate}),
                                            directory=str(shared_data_dir)))
    args = sweep_args(tmp_path, "sweep", [*SLURM, "target=logistic", "attack=svm", f"data.dir={shared_data_dir},null",
                                          f"data.url_base={mirror.url}"])
    root = tmp_path / "sweep"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}
    env.update(slurm.env, SOCINF_DATA_DIR=str(shared_data_dir))
    try:
        with open(tmp_path / "sweep.err", "w+") as err:
            run = subprocess.Popen([sys.executable, "-m", "socinf_cli", *args], cwd=tmp_path, env=env,
                                   stdout=subprocess.DEVNULL, stderr=err)
            cancelled = job_id_once_written(root / "1", run, err)  # written as job 1 starts
            slurm.client("scancel", cancelled)
            assert run.wait(180) != 0  # the launcher raises for the job that left no result
            err.seek(0)
            stderr = err.read()
        gate.set()  # the mirror answers from now on: the resumed job 1 downloads its corpus
        _check_cancelled_then_resume(tmp_path, root, args, stderr, cancelled, shared_data_dir, slurm)
    finally:
        gate.set()
        mirror.close()


def _check_cancelled_then_resume(tmp_path, root, args, stderr, cancelled, shared_data_dir, slurm):
    assert "CANCELLED" in stderr or "has not produced any output" in stderr, stderr[-3000:]
    assert metrics(root / "0")["complete"] and not (root / "1" / "metrics.json").exists()

    report = socinf(["report", str(root)], cwd=tmp_path, data_dir=None)
    assert report.returncode == 0, report.stderr[-2000:]
    assert "2 job(s), 1 complete, 1 failed" in report.stdout, report.stdout
    rows = missing_rows(root)
    assert [r["kind"] for r in rows] == ["failed job"], rows
    # the reason comes from submitit's log: slurmstepd's "*** JOB <id> ON <node> CANCELLED AT ... ***"
    assert rows[0]["detail"].startswith(f"{root / '1'}: ") and "CANCELLED" in rows[0]["detail"], rows
    assert re.search(rf"JOB \d+ ON {slurm.node} CANCELLED", rows[0]["detail"]), rows

    job0 = sorted((p, p.stat().st_mtime_ns) for p in [*(root / "0").glob("*"), *(root / "0").glob(".hydra/*")])
    scripts = set((root / ".submitit").glob("*/*_submission.sh"))
    assert ["#SBATCH --array=0-1%" in p.read_text() for p in scripts] == [True]  # the sweep: one array of 2 tasks
    proc = socinf([*args, "resume=true"], cwd=tmp_path, data_dir=shared_data_dir, env_extra=slurm.env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # issue #14: only the cancelled job is submitted, as an array of one task, and it runs in dir 1 again
    assert f"resume: 1 of 2 jobs already complete in {root}, not launched (0); launching 1" in proc.stdout
    new_scripts = set((root / ".submitit").glob("*/*_submission.sh")) - scripts
    assert len(new_scripts) == 1, new_scripts
    assert "#SBATCH --array" not in next(iter(new_scripts)).read_text()  # submitit sbatches one task as one job
    rerun = slurm_job_id(root / "1")
    assert rerun != cancelled and ended_states(slurm, rerun.split("_")[0]) == {rerun: "COMPLETED"}  # one task
    assert metrics(root / "1")["complete"]
    assert yaml.safe_load((root / "1" / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["num"] == 1
    assert sorted((p, p.stat().st_mtime_ns) for p in [*(root / "0").glob("*"), *(root / "0").glob(".hydra/*")]) \
        == job0  # job 0 was not submitted: nothing in its dir was rewritten, not even .hydra/ or run.log
    report = socinf(["report", str(root)], cwd=tmp_path, data_dir=None)
    assert report.returncode == 0 and "2 job(s), 2 complete, 0 failed" in report.stdout, report.stdout
    assert missing_rows(root) == [] and "Nothing missing" in (root / "report" / "missing.md").read_text()


def test_a_failing_slurm_job_is_reported_with_its_own_error(tmp_path, shared_data_dir, slurm):
    corpora = tmp_path / "corpora"  # a data dir holding the tweets only: the Weibo job fails, the other runs
    corpora.mkdir()
    (corpora / "emoint").symlink_to(shared_data_dir / "emoint")
    root = tmp_path / "sweep"
    proc = socinf(sweep_args(tmp_path, "sweep", [*SLURM, "dataset=tweet,weibo", "target=logistic", "attack=svm",
                                                 f"data.dir={corpora}"]),
                  cwd=tmp_path, data_dir=None, env_extra=slurm.env, timeout=180)
    # a job that fails in socinf does not end the sweep; the sweep then exits 2 saying how many failed
    assert proc.returncode == 2 and "1 of 2 sweep jobs failed" in proc.stderr, proc.stderr[-3000:]
    assert metrics(root / "0")["complete"]
    assert "weibo: missing file" in json.loads((root / "1" / "failed.json").read_text())["error"]
    report = socinf(["report", str(root)], cwd=tmp_path, data_dir=None)
    assert report.returncode == 0, report.stderr[-2000:]
    rows = missing_rows(root)
    assert len(rows) == 1 and rows[0]["dataset"].startswith("Weibo"), rows
    assert rows[0]["detail"].startswith(f"{root / '1'}: ") and "weibo: missing file" in rows[0]["detail"], rows


OWNER = ["threat=owner", "method=lira", "method.online=true", "method.n_references=4", "target=logistic"]


def test_owner_references_trained_as_slurm_jobs_score_exactly_like_local_ones(tmp_path, shared_data_dir, slurm):
    """Issue 23: reference_jobs.launcher=slurm trains the owner's reference models as one array job on the
    cluster (two per task), into the stage cache; the run then scores exactly as a run that trained them here."""
    runs = {}
    for where, extra in (("local", []), ("slurm", ["reference_jobs.launcher=slurm", "reference_jobs.mem_gb=1",
                                                    "reference_jobs.references_per_job=2",
                                                    f"reference_jobs.folder={tmp_path / 'jobs'}"])):
        args = ["run", *TINY, *OWNER, *extra, f"hydra.run.dir={tmp_path / where}", f"data.root={tmp_path / 'data'}",
                f"cache.dir={tmp_path / where / 'cache'}"]
        proc = socinf(args, cwd=tmp_path, data_dir=shared_data_dir, env_extra=slurm.env, timeout=240)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[where] = metrics(tmp_path / where)
    scripts = sorted((tmp_path / "jobs").glob("*/*_submission.sh"))
    assert scripts and "#SBATCH --array=0-1" in scripts[0].read_text()  # 4 references, 2 per task
    entries = sorted(p.name for p in (tmp_path / "slurm" / "cache" / "reference").glob("*.json"))
    assert len(entries) == 4  # written by the jobs; the thresholds' four are LiRA's first four
    assert entries == sorted(p.name for p in (tmp_path / "local" / "cache" / "reference").glob("*.json"))
    for section in ("attack", "attacks", "baselines", "reports", "strongest", "threat"):
        assert runs["slurm"][section] == runs["local"][section], section
    assert (tmp_path / "slurm" / "membership_scores.csv").read_bytes() == \
        (tmp_path / "local" / "membership_scores.csv").read_bytes()
