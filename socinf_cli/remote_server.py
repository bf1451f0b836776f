"""``target=remote`` with ``target.url`` unset: run `socinf serve` as a child process for the run.

The child trains the same dataset / defense / seed as the run, listens on a
free loopback port (``serve.port=0``), and writes its port file, membership
split and accuracy report into ``<run dir>/server``. It is stopped however the
run ends (success, error, Ctrl-C: terminate, then kill), and it stops by itself
if the client dies (``serve.exit_with_parent``).
"""
from __future__ import annotations

import json
import os
import runpy
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
from omegaconf import OmegaConf

from socinf.errors import RemoteTargetError

PASSED_GROUPS = ("dataset", "defense", "eval", "data", "cache")  # what the served model and its split depend on
SERVE_KEYS = ("rate_limit", "max_batch", "max_body_bytes")  # API behaviour chosen in the run's config


@dataclass
class SpawnedServer:
    url: str
    api_key: str
    server_dir: Path
    process: subprocess.Popen


def override_value(value) -> str:
    """A Python value in Hydra's override grammar."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{override_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot pass {value!r} to `socinf serve`")


def serve_overrides(cfg, server_dir: Path) -> list[str]:
    """The run's dataset, defense, eval draw, data location and seed, as `socinf serve` overrides."""
    from socinf_cli.conf_tree import config_dir
    from socinf_cli.paths import data_root

    plain = OmegaConf.to_container(cfg, resolve=True)
    plain["data"]["root"] = str(data_root(cfg))  # the child may start elsewhere: absolute paths only
    if plain["cache"]["dir"]:
        plain["cache"]["dir"] = str(Path(plain["cache"]["dir"]).resolve())
    overrides = []
    for group in PASSED_GROUPS:
        option = plain[group].get("name")
        if option and (config_dir() / group / f"{option}.yaml").exists():
            overrides.append(f"{group}={option}")
        overrides += [f"{group}.{k}={override_value(v)}" for k, v in plain[group].items()]
    overrides += [f"serve.{k}={override_value(plain['serve'][k])}" for k in SERVE_KEYS]
    overrides += [f"seed={cfg.seed}", f"threads={cfg.threads}", f"serve.model={override_value(cfg.target.model)}",
                  "serve.host=127.0.0.1", "serve.port=0", "serve.exit_with_parent=true",
                  f"serve.port_file={override_value(str(server_dir / 'port.json'))}",
                  f"hydra.run.dir={override_value(str(server_dir))}"]
    return overrides


def client_run_dir() -> Path:
    """The run's Hydra dir, or a fresh temporary one when called outside a Hydra app (library use)."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(tempfile.mkdtemp(prefix="socinf-remote-"))


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    errors = [line for line in lines if line.startswith("socinf: error:")]
    return (errors or lines or [""])[-1]


def _wait_until_ready(process: subprocess.Popen, port_file: Path, log_file: Path, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RemoteTargetError(f"the spawned `socinf serve` exited with status {process.returncode} before "
                                    f"listening: {_last_line(log_file)} (log: {log_file})")
        if port_file.exists():
            url = json.loads(port_file.read_text())["url"]
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise RemoteTargetError(f"the spawned `socinf serve` did not answer /healthz within target.start_timeout_s="
                            f"{timeout_s:g} s (log: {log_file})")


def stop(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        process.kill()
        process.wait()


# What every spawned server imports (~3 s: scikit-learn and scipy.stats most of it). A forkserver imports them
# once per client process and forks each server from there, so the second server of a process (a sweep worker
# runs many) starts in a fraction of a second. The forkserver only imports: no thread pool has run in it.
SERVER_PRELOAD = ("socinf_cli.cli", "socinf_cli.tasks", "socinf_cli.serve", "socinf_cli.validate", "socinf.serve.app",
                  "socinf.attacks.socinf", "sklearn.neural_network", "sklearn.linear_model")


def _serve_child(argv: list[str], log_path: str, env: dict) -> None:
    """The body of a forked server: its output to ``log_path``, the client's environment, then `socinf serve`."""
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["socinf", *argv]
    runpy.run_module("socinf_cli", run_name="__main__", alter_sys=True)  # as `python -m socinf_cli ARGV` runs


class ForkedServer:
    """``subprocess.Popen``'s interface (poll, returncode, wait, terminate, kill) over a forked server."""

    def __init__(self, argv: list[str], log_path: Path, env: dict):
        import multiprocessing

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(SERVER_PRELOAD))
        self._process = context.Process(target=_serve_child, args=(argv, str(log_path), env), daemon=False)
        self._process.start()
        self.pid = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired("socinf serve", timeout)
        return self._process.exitcode

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()


def start_server_process(argv: list[str], log_path: Path, env: dict):
    """`socinf serve ARGV` in a process of its own: forked from a preloaded forkserver where there is one (Linux,
    macOS), else a new interpreter."""
    import multiprocessing

    log_path.write_bytes(b"")
    main = sys.modules["__main__"]  # a forked child re-imports a main script by its path (guarded scripts only)
    main_file = None if getattr(main, "__spec__", None) else getattr(main, "__file__", None)
    if "forkserver" in multiprocessing.get_all_start_methods() and (main_file is None or os.path.isfile(main_file)):
        return ForkedServer(argv, log_path, env)
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "socinf_cli", *argv], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env)


@contextmanager
def spawned_server(cfg) -> Iterator[SpawnedServer]:
    server_dir = client_run_dir() / "server"
    server_dir.mkdir(parents=True, exist_ok=True)
    port_file, log_file = server_dir / "port.json", server_dir / "server.out"
    port_file.unlink(missing_ok=True)
    api_key = cfg.target.api_key or secrets.token_urlsafe(24)
    env = {**os.environ, "SOCINF_API_KEY": api_key}  # by environment: a key on the command line shows in `ps`
    process = start_server_process(["serve", *serve_overrides(cfg, server_dir)], log_file, env)
    try:
        url = _wait_until_ready(process, port_file, log_file, cfg.target.start_timeout_s)
        yield SpawnedServer(url, api_key, server_dir, process)
    finally:
        stop(process)
