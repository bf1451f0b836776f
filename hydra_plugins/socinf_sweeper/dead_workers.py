"""A sweep worker killed by a signal (``kill -9``, the out-of-memory killer) fails only its own job.

joblib's loky pool, when one worker dies, fails every job of the launch with ``TerminatedWorkerError`` and kills
its other workers. ``record_exit_codes`` (installed in the launching process) notes which worker processes had
died, with their exit codes, at the moment loky noticed; each running job names its worker in its job dir
(``socinf.rundir.RUNNING_FILE``). ``bury`` then writes ``failed.json`` (with the signal) for the jobs whose
worker died first, and the sweeper launches the jobs that have neither a result nor a failure again.
Kept free of heavy imports: Hydra imports every module of this package when it scans for plugins.
"""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from socinf.rundir import RUNNING_FILE

DEAD: dict[int, int] = {}  # pid -> exit code of the workers loky found dead (negative: killed by that signal)


def is_dead_worker(exc: BaseException) -> bool:
    """joblib / loky's error for a pool whose worker died (``TerminatedWorkerError``, a ``BrokenProcessPool``)."""
    return any(k.__name__ in ("TerminatedWorkerError", "BrokenProcessPool") for k in type(exc).__mro__)


def record_exit_codes() -> None:
    """Wrap loky's ``get_exitcodes_terminated_worker`` (called as it notices a dead worker, before it kills the
    others) so the dead workers' pids are known: one line of loky to lean on, checked by tests/test_sweep_kill."""
    from joblib.externals.loky import process_executor

    original = process_executor.get_exitcodes_terminated_worker
    if getattr(original, "socinf_records", False):
        return

    def recording(processes):
        codes = original(processes)
        DEAD.update({p.pid: p.exitcode for p in list(processes.values()) if p.exitcode is not None})
        return codes

    recording.socinf_records = True
    process_executor.get_exitcodes_terminated_worker = recording


def _signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return "an unknown cause" if code is None else f"exit code {code}"
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _worker_of(job_dir: Path, since: float) -> int | None:
    try:
        marker = json.loads((job_dir / RUNNING_FILE).read_text())
        return int(marker["pid"]) if marker.get("started", 0) >= since - 1 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def bury(jobs: list[tuple[Path, list[str]]], since: float) -> int:
    """Record ``failed.json`` for each job (dir, overrides) whose worker loky found dead; returns how many.
    A job whose worker was only killed afterwards by loky (collateral) is left to be launched again."""
    from socinf.rundir import holds_result_of, write_failure

    buried = 0
    for job_dir, overrides in jobs:
        pid = _worker_of(job_dir, since)
        if pid is None or pid not in DEAD or holds_result_of(job_dir, overrides):
            continue
        cause = _signal_name(DEAD[pid])
        write_failure(job_dir, f"the job's worker process {pid} was killed by {cause} (kill -9, or the out-of-memory "
                               "killer); the sweep's other jobs went on; resume=true runs this one again",
                      "killed", overrides, signal=cause, pid=pid, at=time.time())
        (job_dir / RUNNING_FILE).unlink(missing_ok=True)
        buried += 1
    return buried


def failed_since(job_dir: Path, since: float) -> bool:
    """The job recorded a failure during the launch that started at ``since``."""
    from socinf.rundir import FAILED_FILE, read_failure

    try:
        return read_failure(job_dir) is not None and (job_dir / FAILED_FILE).stat().st_mtime >= since - 1
    except OSError:
        return False


def give_up(jobs: list[tuple[Path, list[str]]]) -> None:
    """Jobs of a launch whose dead worker could not be named: each recorded as failed, for ``resume=true``."""
    from socinf.rundir import write_failure

    for job_dir, overrides in jobs:
        write_failure(job_dir, "a worker process of the sweep died and this job did not complete; resume=true "
                               "runs it again", "killed", overrides)
