"""What a ``socinf run`` job leaves behind when it fails, and the marker that names a job's worker while it runs.

A failure is one line, its secrets scrubbed (``socinf.secrets``): on the terminal (a single run: ``socinf:
error: ...``, exit 2) or, in a sweep, in the job's ``failed.json`` with the job's overrides (``socinf.rundir``),
so the other jobs go on. A full, read-only or forbidden disk (an ``OSError`` from any library) is a
``StorageError`` line naming the path, not a traceback. A single run that failed leaves its dir as it was: a
stub is removed, a dir holding a complete result gets its ``.hydra/`` back (Hydra rewrote it for this run).

``RUNNING_FILE`` holds the pid of the process running a sweep job; the sweeper reads it to tell which job a
worker killed by a signal was running (``hydra_plugins/socinf_sweeper/dead_workers.py``).
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from hydra.experimental.callback import Callback

from socinf.errors import SocinfError
from socinf.io import atomic_write_json, storage_error
from socinf.rundir import RUNNING_FILE, restore_hydra, write_failure
from socinf.secrets import scrub

log = logging.getLogger("socinf")
PROBE_BYTES = 256 * 1024  # what a run dir must take before Hydra writes .hydra/ and the log into it
logging.raiseExceptions = False  # a full disk under run.log: the run's own line says so, not a logging traceback


def _keys(cfg) -> list:
    return [(cfg.get(group) or {}).get("api_key") for group in ("target", "serve")]


def failure_of(exc: BaseException, cfg) -> tuple[str, str]:
    """(the one line, the kind) for an exception that ended a job: a socinf error or a full / read-only /
    forbidden disk (an ``OSError`` from any library) is a one-line kind; anything else is kind "crash", a bug."""
    problem = storage_error(exc) if not isinstance(exc, SocinfError) else None
    if isinstance(exc, SocinfError) or problem is not None:
        exc = problem or exc
        return scrub(str(exc), *_keys(cfg)), type(exc).__name__
    return scrub(f"{type(exc).__name__}: {exc}", *_keys(cfg)), "crash"


def discard_stub(run_dir: Path, log_name: str) -> None:
    """A run rejected before it wrote anything leaves no run dir (``socinf report`` would count it as a failed job)."""
    if run_dir.is_dir() and set(p.name for p in run_dir.iterdir()) <= {".hydra", f"{log_name}.log"}:
        shutil.rmtree(run_dir, ignore_errors=True)
        if run_dir.parent.parent.name == "outputs":  # Hydra's default outputs/<date>/<time>: drop empty parents
            for parent in (run_dir.parent, run_dir.parent.parent):
                try:
                    parent.rmdir()
                except OSError:
                    break


def single_run_failed(exc: BaseException, cfg, run_dir: Path, log_name: str) -> None:
    """A run outside a sweep: the dir as it was, then one line and exit 2 (a bug's traceback is re-raised)."""
    message, kind = failure_of(exc, cfg)
    try:
        if not restore_hydra(run_dir):
            discard_stub(run_dir, log_name)
    except SocinfError:
        pass  # the disk that failed the run may refuse this too; the run's own error is the one to show
    if kind == "crash":
        raise exc
    print(f"socinf: error: {message}", file=sys.stderr)  # once: not also as a log line
    raise SystemExit(2)


def sweep_job_failed(exc: BaseException, cfg, run_dir: Path, overrides: list[str]) -> str:
    """A sweep job: the failure recorded in ``failed.json`` (and the run log); returns the line to print."""
    message, kind = failure_of(exc, cfg)
    if kind == "crash":
        log.info("job failed:\n%s", scrub(traceback.format_exc(), *_keys(cfg)))
    else:
        log.info("job failed: socinf: error: %s", message)  # run.log; the terminal gets the job's one line
    try:
        write_failure(run_dir, message, kind, overrides)
    except SocinfError as problem:  # a full disk may not take failed.json either: the log line says it all
        log.error("could not record the failure in %s: %s", run_dir, problem)
    return message


@contextmanager
def running(run_dir: Path):
    """``RUNNING_FILE`` names this process while the job runs (removed however it ends, unless killed)."""
    marker = Path(run_dir) / RUNNING_FILE
    try:
        atomic_write_json(marker, {"pid": os.getpid(), "started": time.time()})
    except SocinfError:
        marker = None  # the job itself will say what is wrong with the disk
    try:
        yield
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)


def check_writable(folder: Path) -> None:
    """Write ``PROBE_BYTES`` into ``folder`` (then remove them, and any folder this check had to make): one
    ``StorageError`` line if the disk is full, read-only or forbidden, before Hydra writes there (its own error
    would be a traceback). A sweep refused by its own checks afterwards leaves no dir behind."""
    folder = Path(folder).absolute()
    made = [p for p in [folder, *folder.parents] if not p.exists()]  # deepest first
    probe = folder / f".socinf-probe-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as fh:
            fh.write(b"\0" * PROBE_BYTES)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise storage_error(OSError(exc.errno, exc.strerror, str(folder))) or exc from None
    finally:
        probe.unlink(missing_ok=True)
        for path in made:
            try:
                path.rmdir()
            except OSError:
                break


class StorageCheck(Callback):
    """Hydra callback (``hydra.callbacks`` in ``conf/config.yaml``): the run or sweep dir takes files, checked
    before the first job starts."""

    def _check(self, folder) -> None:
        try:
            check_writable(Path(str(folder)))
        except SocinfError as exc:
            print(f"socinf: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    def on_run_start(self, config, **kwargs) -> None:
        self._check(config.hydra.run.dir)

    def on_multirun_start(self, config, **kwargs) -> None:
        self._check(config.hydra.sweep.dir)
