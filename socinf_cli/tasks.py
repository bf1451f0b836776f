"""The Hydra task functions behind ``socinf run`` and ``socinf serve``."""
from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from socinf.errors import SocinfError
from socinf.io import atomic_write_json

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


def run_task(cfg) -> None:
    from socinf_cli.pipeline import run_audit
    from socinf.report.console import print_run_summary

    run_dir = _run_dir()
    if cfg.resume and is_complete(run_dir):
        log.info("resume: %s already has a complete metrics.json; skipped", run_dir)
        return
    (run_dir / "failed.json").unlink(missing_ok=True)
    try:
        result = run_audit(cfg, run_dir)
    except SocinfError as exc:
        log.error("socinf: error: %s", exc)
        if not _is_multirun():
            print(f"socinf: error: {exc}", file=sys.stderr)
            raise SystemExit(2)
        atomic_write_json(run_dir / "failed.json", {"error": str(exc), "kind": type(exc).__name__})
        return
    except Exception as exc:  # noqa: BLE001 - a sweep keeps going; the failure is recorded for `report`
        if not _is_multirun():
            raise
        log.error("job failed:\n%s", traceback.format_exc())
        atomic_write_json(run_dir / "failed.json", {"error": f"{type(exc).__name__}: {exc}", "kind": "crash"})
        return
    log.info("metrics written to %s", run_dir / "metrics.json")
    print_run_summary(result, run_dir)


def serve_task(cfg) -> None:
    from socinf_cli.serve import serve

    try:
        serve(cfg, _run_dir())
    except SocinfError as exc:
        print(f"socinf: error: {exc}", file=sys.stderr)
        raise SystemExit(2)
