"""Run the real `socinf` command in a subprocess, as a user would (shared by the CLI tests)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

# Small but real: every stage runs on a slice of the real corpus in a few seconds.
FAST = ["dataset.per_class=300", "eval.size=150", "synthesis.n_records=800", "synthesis.burn_in=100",
        "mimic.epochs=120", "threads=1"]


def _env(data_dir: Path | None, env_extra: dict | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}
    if data_dir is not None:
        env["SOCINF_DATA_DIR"] = str(data_dir)
    env.update(env_extra or {})
    return env


def socinf(args: list[str], cwd: Path, data_dir: Path | None, timeout: float = 300, env_extra: dict | None = None):
    return subprocess.run([sys.executable, "-m", "socinf_cli", *args], cwd=cwd, env=_env(data_dir, env_extra),
                          capture_output=True, text=True, timeout=timeout)


def socinf_many(commands: list[list[str]], cwd: Path, data_dir: Path | None = None, env_extra: dict | None = None,
                timeout: float = 120, at_once: int = 4) -> list[subprocess.CompletedProcess]:
    """Many short `socinf` commands (help, errors), ``at_once`` at a time; their results in order."""
    results: list[subprocess.CompletedProcess] = []
    for start in range(0, len(commands), at_once):
        running = [(args, subprocess.Popen([sys.executable, "-m", "socinf_cli", *args], cwd=cwd,
                                           env=_env(data_dir, env_extra), stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True))
                   for args in commands[start:start + at_once]]
        for args, process in running:
            out, err = process.communicate(timeout=timeout)
            results.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return results


def run_audit(tmp: Path, data_dir: Path, overrides: list[str], name: str = "run", fast: bool = True,
              env_extra: dict | None = None):
    """One `socinf run` into tmp/<name>; returns (completed process, metrics dict or None)."""
    run_dir = tmp / name
    args = ["run", *(FAST if fast else []), *overrides, f"hydra.run.dir={run_dir}", f"data.root={tmp / 'data'}"]
    proc = socinf(args, cwd=tmp, data_dir=data_dir, env_extra=env_extra)
    metrics_file = run_dir / "metrics.json"
    return proc, (json.loads(metrics_file.read_text()) if metrics_file.exists() else None)


KEY = "test-key-7f3a"  # the API key of the test servers below


@dataclass
class Server:
    """A real `socinf serve` process on 127.0.0.1."""

    url: str
    dir: Path
    process: subprocess.Popen

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/v1/stats", headers={"X-API-Key": KEY}).json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


def start_server(run_dir: Path, overrides: list[str], data_dir: Path) -> Server:
    port_file = run_dir / "port.json"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}, "SOCINF_API_KEY": KEY,
           "SOCINF_DATA_DIR": str(data_dir)}
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "server.out", "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "socinf_cli", "serve", *overrides, "serve.port=0",
                                    f"serve.port_file={port_file}", f"hydra.run.dir={run_dir}"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while not port_file.exists():
        assert process.poll() is None, (run_dir / "server.out").read_text()[-2000:]
        assert time.monotonic() < deadline, "socinf serve did not start"
        time.sleep(0.1)
    return Server(json.loads(port_file.read_text())["url"], run_dir, process)
