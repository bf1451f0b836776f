"""The Hydra task functions behind ``socinf run`` and ``socinf serve``."""
from __future__ import annotations

import json
import logging
import shutil
import sys
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from rich.console import Console

from socinf.errors import SocinfError
from socinf.io import atomic_write_json
from socinf.runtime import summarised_warnings

log = logging.getLogger("socinf")


def _run_dir() -> Path:
    return Path(HydraConfig.get().runtime.output_dir)


def _is_multirun() -> bool:
    return HydraConfig.get().mode == RunMode.MULTIRUN


def is_complete(run_dir: Path) -> bool:
    try:
        return bool(json.loads((run_dir / "metrics.json").read_text()).get("complete"))
    except (OSError, ValueError):
        return False


def _discard_stub(run_dir: Path) -> None:
    """A run rejected before it wrote anything leaves no run dir (``socinf report`` would count it as a failed job)."""
    if run_dir.is_dir() and set(p.name for p in run_dir.iterdir()) <= {".hydra", f"{HydraConfig.get().job.name}.log"}:
        shutil.rmtree(run_dir, ignore_errors=True)
        if run_dir.parent.parent.name == "outputs":  # Hydra's default outputs/<date>/<time>: drop empty parents
            for parent in (run_dir.parent, run_dir.parent.parent):
                try:
                    parent.rmdir()
                except OSError:
                    break


def run_task(cfg) -> None:
    from socinf_cli.pipeline import run_audit
    from socinf.report.console import print_job_line, print_run_summary

    run_dir = _run_dir()
    if cfg.resume and is_complete(run_dir):
        log.info("resume: %s already has a complete metrics.json; skipped", run_dir)
        return
    (run_dir / "failed.json").unlink(missing_ok=True)
    try:
        with summarised_warnings(log, logging.INFO if _is_multirun() else logging.WARNING):
            result = run_audit(cfg, run_dir)
    except SocinfError as exc:
        if not _is_multirun():
            _discard_stub(run_dir)
            print(f"socinf: error: {exc}", file=sys.stderr)  # once: not also as a log line
            raise SystemExit(2)
        log.info("job failed: socinf: error: %s", exc)  # run.log; the terminal gets the job's one line
        atomic_write_json(run_dir / "failed.json", {"error": str(exc), "kind": type(exc).__name__})
        print_job_line(HydraConfig.get().overrides.task, None, error=str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - a sweep keeps going; the failure is recorded for `report`
        if not _is_multirun():
            raise
        log.info("job failed:\n%s", traceback.format_exc())
        atomic_write_json(run_dir / "failed.json", {"error": f"{type(exc).__name__}: {exc}", "kind": "crash"})
        print_job_line(HydraConfig.get().overrides.task, None, error=f"{type(exc).__name__}: {exc}")
        return
    log.info("metrics written to %s", run_dir / "metrics.json")
    if _is_multirun():  # one line per job on the terminal; the full table in the job's run.log
        print_job_line(HydraConfig.get().overrides.task, result)
        with open(run_dir / f"{HydraConfig.get().job.name}.log", "a", encoding="utf-8") as fh:
            print_run_summary(result, run_dir, console=Console(file=fh, width=120))
    else:
        print_run_summary(result, run_dir)


def serve_task(cfg) -> None:
    from socinf_cli.serve import serve

    try:
        serve(cfg, _run_dir())
    except SocinfError as exc:
        print(f"socinf: error: {exc}", file=sys.stderr)
        raise SystemExit(2)
