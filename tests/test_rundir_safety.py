"""Issue 20 (Why 1, and the rule "a rerun never destroys a completed result"): real `socinf run` processes
rerun into a dir holding a result, a real kill -9 of a process writing results, and what `socinf report` and
the sweep's exit status make of a dir where another job failed after a result was written."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socinf_runner import socinf

SMALL = ["dataset.per_class=150", "eval.size=60", "synthesis.n_records=300", "synthesis.burn_in=30", "mimic.epochs=3",
         "method.baselines=false", "threads=1", "target=logistic"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_rejected_rerun_leaves_every_file_of_the_completed_result(tmp_path, shared_data_dir):
    """The review: rerunning a completed run dir with a typo deleted metrics.json and job.json and orphaned
    membership_scores.csv. Now nothing of it changes, .hydra/ included (Hydra rewrites it for the new run, which
    puts it back), whether the run is refused by its config or by its data."""
    run = tmp_path / "run"
    args = ["run", *SMALL, f"hydra.run.dir={run}", f"data.root={tmp_path / 'data'}"]
    first = socinf(args, tmp_path, shared_data_dir)
    assert first.returncode == 0, first.stderr[-2000:]
    before = snapshot(run)
    assert {"metrics.json", "membership_scores.csv", "job.json", ".hydra/config.yaml"} <= set(before)
    for typo in ("eval.size=999999", "mimic.lr_g=-1", "dataset.member_fraction=0.999"):
        proc = socinf([*args, typo], tmp_path, shared_data_dir)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert proc.stderr.strip().splitlines()[-1].startswith("socinf: error:"), proc.stderr[-500:]
        after = snapshot(run)
        after.pop("run.log", None), before.pop("run.log", None)  # a log may grow
        assert after == before, f"{typo}: changed {sorted(k for k in after if after[k] != before.get(k))}"


WRITER = """
import sys, time
from socinf.rundir import write_result
job, i = sys.argv[1], 0
while True:
    i += 1
    scores = "record_id,member,score\\n" + "".join(f"{r},{r % 2},{i}.{r}\\n" for r in range(60000))
    write_result(job, {"complete": True, "generation": i}, scores, ["seed=0"])
    print(i, flush=True)
"""


def test_kill_9_while_writing_never_pairs_metrics_with_other_scores(tmp_path):
    """A real kill -9 at random moments of a process rewriting a result (2 MB of scores each time): whatever
    moment it dies, the result a reader resolves (``socinf.rundir.result_file``) pairs metrics.json with the
    scores it was written with, and the next writer's ``settle`` leaves the same pair in place."""
    from socinf import rundir

    # resolved as the readers resolve them (before issue 20 there was no staging: the files in the job dir)
    result_file = getattr(rundir, "result_file", lambda job, name: job / name)
    settle = getattr(rundir, "settle", lambda job: None)

    job = tmp_path / "job"
    job.mkdir()
    rng = __import__("random").Random(0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    checked = 0
    for trial in range(25):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(job)], env=env, stdout=subprocess.PIPE, text=True)
        writer.stdout.readline()  # one whole result written
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        for moment in ("as left", "settled"):
            metrics = rundir.read_metrics(job)
            scores = result_file(job, rundir.SCORES_FILE).read_text()
            assert metrics is not None and metrics["complete"] is True, (trial, moment)
            written = int(scores.splitlines()[1].rsplit(",", 1)[1].split(".")[0])
            assert written == metrics["generation"], f"trial {trial} ({moment}): metrics of write {metrics['generation']}, " \
                                                     f"scores of write {written}"
            assert hashlib.sha256(scores.encode()).hexdigest() == metrics.get("scores_sha256", hashlib.sha256(
                scores.encode()).hexdigest()), (trial, moment)
            checked += 1
            settle(job)
        assert result_file(job, rundir.METRICS_FILE) == job / rundir.METRICS_FILE  # settled: nothing staged left
    assert checked == 50


@pytest.mark.slow
def test_a_failed_job_in_a_dir_holding_another_jobs_result(tmp_path, shared_data_dir):
    """A sweep job that fails in a dir holding the complete result of other overrides: the result stays byte
    for byte, but the dir is the failed job's (the sweep exits 2 for it, `socinf report` lists it failed with a
    note that the earlier result is kept, resume=true reruns it); once it succeeds its result replaces the
    other one, written aside first and moved in."""
    sweep = tmp_path / "sweep"
    base = ["run", "-m", *SMALL, f"hydra.sweep.dir={sweep}", f"data.root={tmp_path / 'data'}"]
    assert socinf([*base, "seed=0"], tmp_path, shared_data_dir).returncode == 0
    job = sweep / "0"
    kept = {k: v for k, v in snapshot(job).items() if not k.startswith(".hydra") and k != "run.log"}
    failing = socinf([*base, "seed=0", "dataset.member_fraction=0.999"], tmp_path, shared_data_dir)
    assert failing.returncode == 2, failing.stderr[-2000:]
    assert failing.stderr.strip().splitlines()[-1].startswith("socinf: error: 1 of 1 sweep jobs failed")
    now = snapshot(job)
    assert all(now[k] == v for k, v in kept.items()), "the earlier complete result was touched"
    failure = json.loads((job / "failed.json").read_text())
    assert "dataset.member_fraction=0.999" in failure["overrides"] and "member_fraction" in failure["error"]
    report = socinf(["report", str(sweep)], tmp_path, None)
    assert report.returncode == 0 and "1 job(s), 0 complete, 1 failed" in report.stdout, report.stdout[-2000:]
    missing = (sweep / "report" / "missing.md").read_text()
    assert "member_fraction" in missing and "holds an earlier complete result of other overrides" in missing
    fixed = socinf([*base, "seed=0", "dataset.member_fraction=0.6", "resume=true"], tmp_path, shared_data_dir)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    metrics = json.loads((job / "metrics.json").read_text())
    assert metrics["config"]["dataset"]["member_fraction"] == 0.6 and not (job / "failed.json").exists()
    assert not (job / ".staged").exists()
