"""Issue #11 defect 3: killing a sweep's parent (SIGTERM) stops its joblib workers within seconds."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_sweep_resume import sweep_args


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigterm_to_the_sweep_parent_stops_its_workers(tmp_path, shared_data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}
    env["SOCINF_DATA_DIR"] = str(shared_data_dir)
    args = sweep_args(tmp_path, ["eval.size=100", "mimic.epochs=5000", "seed=0,1"])
    parent = subprocess.Popen([sys.executable, "-m", "socinf_cli", *args], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not all((tmp_path / "sweep" / str(i) / "run.log").exists() for i in (0, 1)):
            assert parent.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        workers = [p for p in _children(parent.pid) if "loky" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")
                   or "joblib" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")]
        assert workers, _children(parent.pid)
        parent.send_signal(signal.SIGTERM)
        parent.wait(30)
        stop = time.monotonic() + 10  # "within seconds"
        while any(_alive(p) for p in workers) and time.monotonic() < stop:
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers), "a sweep worker outlived its killed parent"
        assert parent.returncode != 0
    finally:
        for p in [parent.pid, *workers]:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


@pytest.mark.slow
def test_kill_9_of_one_joblib_worker_fails_only_its_job_and_resume_completes_it(tmp_path, shared_data_dir):
    """Issue 20 (Why 6): kill -9 of one joblib worker gave a TerminatedWorkerError traceback, killed the other
    running job and never started the rest. Now the killed job's failed.json names the signal, the others
    complete (the one loky killed beside it is run again), the sweep exits 2, and resume=true completes it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}
    env["SOCINF_DATA_DIR"] = str(shared_data_dir)
    args = sweep_args(tmp_path, ["eval.size=100", "seed=0,1,2"])
    sweep = tmp_path / "sweep"
    with open(tmp_path / "sweep.err", "w+") as err:
        parent = subprocess.Popen([sys.executable, "-m", "socinf_cli", *args], cwd=tmp_path, env=env,
                                  stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 180
        while not (sweep / "0" / ".running.json").exists():
            assert parent.poll() is None and time.monotonic() < deadline, "job 0 never started"
            time.sleep(0.05)
        worker = json.loads((sweep / "0" / ".running.json").read_text())["pid"]
        os.kill(worker, signal.SIGKILL)
        assert parent.wait(300) == 2
        err.seek(0)
        stderr = err.read()
    assert "Traceback" not in stderr and "TerminatedWorkerError" not in stderr, stderr[-3000:]
    assert stderr.strip().splitlines()[-1].startswith("socinf: error: 1 of 3 sweep jobs failed"), stderr[-1000:]
    failure = json.loads((sweep / "0" / "failed.json").read_text())
    assert failure["kind"] == "killed" and failure["signal"] == "SIGKILL" and failure["pid"] == worker
    assert all(json.loads((sweep / str(i) / "metrics.json").read_text())["complete"] for i in (1, 2))
    resumed = subprocess.run([sys.executable, "-m", "socinf_cli", *args, "resume=true"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resume: 2 of 3 jobs already complete" in resumed.stdout
    assert json.loads((sweep / "0" / "metrics.json").read_text())["complete"] and not (sweep / "0" / "failed.json").exists()
