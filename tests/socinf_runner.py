"""Run the real `socinf` command in a subprocess, as a user would (shared by the CLI tests)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Small but real: every stage runs on a slice of the real corpus in a few seconds.
FAST = ["dataset.per_class=300", "eval.size=150", "synthesis.n_records=800", "synthesis.burn_in=100",
        "mimic.epochs=120", "threads=1"]


def socinf(args: list[str], cwd: Path, data_dir: Path | None, timeout: float = 300, env_extra: dict | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}
    if data_dir is not None:
        env["SOCINF_DATA_DIR"] = str(data_dir)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "socinf_cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def run_audit(tmp: Path, data_dir: Path, overrides: list[str], name: str = "run", fast: bool = True):
    """One `socinf run` into tmp/<name>; returns (completed process, metrics dict or None)."""
    run_dir = tmp / name
    args = ["run", *(FAST if fast else []), *overrides, f"hydra.run.dir={run_dir}", f"data.root={tmp / 'data'}"]
    proc = socinf(args, cwd=tmp, data_dir=data_dir)
    metrics_file = run_dir / "metrics.json"
    return proc, (json.loads(metrics_file.read_text()) if metrics_file.exists() else None)
