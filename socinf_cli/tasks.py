"""The Hydra task functions behind ``socinf run`` and ``socinf serve``, and the sweep's bookkeeping.

In a sweep (``-m``) a failed job records ``failed.json`` and returns, so the
other jobs finish; ``SweepCheck`` (a Hydra callback, in the launching process)
then counts this sweep's jobs without a complete ``metrics.json`` and the CLI
exits non-zero saying how many failed. ``resume=true`` skips a job only if its
dir holds a complete result *of the same override set* (``JOB_FILE``), never
by job number alone; such a job is not even launched (``hydra_plugins.socinf_sweeper``).
SIGTERM to the launching process stops the workers (as Ctrl-C does), and a
worker whose launcher is gone stops by itself.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from rich.console import Console

from socinf.errors import SocinfError
from socinf.rundir import holds_result_of, is_complete, job_state, override_set, saved_override_set
from socinf_cli.outcomes import running, single_run_failed, sweep_job_failed
from socinf.runtime import summarised_warnings

log = logging.getLogger("socinf")
_WATCHING: list = []
LAST_SWEEP: dict = {}  # set by SweepCheck.on_multirun_end: {"dir", "jobs", "failed"}


def _run_dir() -> Path:
    return Path(HydraConfig.get().runtime.output_dir)


def _is_multirun() -> bool:
    return HydraConfig.get().mode == RunMode.MULTIRUN


def _progress() -> str:
    from socinf_cli.sweep_check import progress

    return progress(Path(HydraConfig.get().sweep.dir))


def _job_overrides() -> list[str]:
    return override_set(HydraConfig.get().overrides.task)


def _watch_launcher(parent: int) -> None:
    """A sweep worker whose launcher died (kill -9, or a launcher that could not stop it) stops too."""
    while os.getppid() == parent:
        time.sleep(0.5)
    log.error("the sweep's launching process %d is gone; stopping this job", parent)
    signal.raise_signal(signal.SIGINT)  # clean-up first (spawned servers, temporary files) ...
    time.sleep(5)
    os._exit(1)  # ... but never outlive it by more than a few seconds


def run_task(cfg) -> None:
    from socinf_cli.pipeline import run_audit
    from socinf.report.console import print_job_line, print_run_summary

    run_dir = _run_dir()
    if _is_multirun() and not _WATCHING and os.environ.get("SOCINF_SWEEP_PARENT") == str(os.getppid()):
        _WATCHING.append(threading.Thread(target=_watch_launcher, args=(os.getppid(),), daemon=True))
        _WATCHING[0].start()  # once per worker process (a worker runs job after job)
    if cfg.resume and is_complete(run_dir):  # the sweeper launches no such job; one may finish meanwhile
        if holds_result_of(run_dir, HydraConfig.get().overrides.task):
            log.info("resume: %s already has a complete metrics.json; skipped", run_dir)
            return
        saved = saved_override_set(run_dir)
        log.info("resume: %s holds the result of %s, not of this job's %s; rerunning", run_dir,
                 " ".join(saved) if saved is not None else "unrecorded overrides", " ".join(_job_overrides()))
    try:  # an earlier result in run_dir stays as it is until this run has written its own (socinf.rundir)
        with running(run_dir), summarised_warnings(log, logging.INFO if _is_multirun() else logging.WARNING):
            result = run_audit(cfg, run_dir, _job_overrides())
    except Exception as exc:  # noqa: BLE001 - a sweep keeps going; the failure is recorded for `report`
        if not _is_multirun():
            single_run_failed(exc, cfg, run_dir, HydraConfig.get().job.name)
        message = sweep_job_failed(exc, cfg, run_dir, _job_overrides())
        print_job_line(HydraConfig.get().overrides.task, None, error=message, progress=_progress())
        return
    log.info("result written to %s", run_dir)
    with open(run_dir / f"{HydraConfig.get().job.name}.log", "a", encoding="utf-8") as fh:  # the full table
        print_run_summary(result, run_dir, console=Console(file=fh, width=120))
    if _is_multirun():  # one line per job on the terminal
        print_job_line(HydraConfig.get().overrides.task, result, progress=_progress())
    else:
        print_run_summary(result, run_dir)


def serve_task(cfg) -> None:
    from socinf_cli.serve import serve

    try:
        serve(cfg, _run_dir())
    except SocinfError as exc:
        print(f"socinf: error: {exc}", file=sys.stderr)
        raise SystemExit(2)


class SweepCheck(Callback):
    """Hydra callback (``hydra.callbacks`` in ``conf/config.yaml``), run by the launching process of a sweep."""

    def on_multirun_start(self, config, **kwargs) -> None:
        self.started = time.time()
        LAST_SWEEP.clear()
        os.environ["SOCINF_SWEEP_PARENT"] = str(os.getpid())  # workers watch this process
        # SIGTERM as Ctrl-C: joblib then aborts the sweep and kills its loky workers (kill_workers=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)

    def on_multirun_end(self, config, **kwargs) -> None:
        root = Path(config.hydra.sweep.dir)
        jobs = [p.parent.parent for p in root.glob("*/.hydra/overrides.yaml")
                if p.stat().st_mtime >= self.started - 1]  # this sweep's jobs, not an earlier, larger one's
        failed = sorted(str(j) for j in jobs if job_state(j).status != "complete")
        LAST_SWEEP.update({"dir": str(root), "jobs": len(jobs), "failed": failed})


def sweep_failures() -> str | None:
    """One line about the last sweep's failed jobs, or None if every job completed (or no sweep ran)."""
    failed = LAST_SWEEP.get("failed")
    if not failed:
        return None
    return (f"{len(failed)} of {LAST_SWEEP['jobs']} sweep jobs failed (each has failed.json or its log): "
            f"{', '.join(Path(f).name for f in failed[:10])}{' ...' if len(failed) > 10 else ''} in "
            f"{LAST_SWEEP['dir']}; rerun with resume=true to redo only those")
