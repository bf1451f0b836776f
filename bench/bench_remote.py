"""Remote target figures: prediction throughput over loopback, and a remote run's overhead vs. local.

    .venv/bin/python bench/bench_remote.py [--records 51200] [--batch 256] [--skip-runs]

1. Starts a real `socinf serve` (tweet, mlp) on a free loopback port and
   measures records/s of the ``target=remote`` client at batch 256 — with the
   query cache off (pure HTTP) and with a cold SQLite cache (what a first run
   pays). Goal: >= 50,000 records/s.
2. Runs the same small audit twice, ``target=mlp`` (local) and ``target=remote
   target.model=mlp`` (spawned server, cold query cache), and prints the wall
   times and the overhead.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = os.environ.get("SOCINF_DATA_DIR") or str(ROOT.parent / "shared" / "data")
RUN = ["dataset=tweet", "threads=1"]


def socinf(args: list[str], env_extra: dict | None = None, **kw) -> subprocess.Popen:
    env = {**os.environ, "SOCINF_DATA_DIR": DATA, **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "socinf_cli", *args], cwd=ROOT, env=env, **kw)


def start_server(tmp: Path, key: str) -> tuple[subprocess.Popen, str]:
    port_file = tmp / "server" / "port.json"
    proc = socinf(["serve", *RUN, "serve.port=0", f"serve.port_file={port_file}", f"hydra.run.dir={tmp / 'server'}",
                   f"data.root={tmp / 'data'}"], {"SOCINF_API_KEY": key},
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("bench: `socinf serve` did not start")
        time.sleep(0.2)
    return proc, json.loads(port_file.read_text())["url"]


def throughput(url: str, key: str, X: np.ndarray, batch: int, db_path: Path, answers: bool) -> float:
    """Records/s as `socinf run target=remote` sends them: every batch charged to the budget ledger in SQLite
    first (always on), answers stored too when ``answers`` (target.query_cache=true)."""
    from socinf.targets.query_cache import QueryCache
    from socinf.targets.remote_client import RemoteTarget

    db = QueryCache(db_path)
    cache = db if answers else None
    client = RemoteTarget(url, key, batch_size=batch, timeout_s=30, max_retries=3, backoff_s=0.1, cache=cache,
                          ledger=db, max_queries=10**9)
    client.connect()
    client.predict_proba(np.ones((1, X.shape[1])))  # warm the connection (a record not in X)
    before = client.records_sent
    start = time.perf_counter()
    probs = client.predict_proba(X)  # cache off: every distinct record goes over HTTP
    elapsed = time.perf_counter() - start
    distinct = len(np.unique(X, axis=0))  # a record repeated within a call is sent once
    assert probs.shape == (len(X), len(client.classes)) and client.records_sent - before == distinct
    client.close()
    db.close()
    return distinct / elapsed


def timed_run(tmp: Path, name: str, overrides: list[str]) -> tuple[float, dict]:
    run_dir = tmp / name
    start = time.perf_counter()
    proc = socinf(["run", *RUN, *overrides, "cache.enabled=false", f"hydra.run.dir={run_dir}",
                   f"data.root={tmp / ('data-' + name)}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"bench: {name} run failed: {err.decode()[-500:]}")
    return time.perf_counter() - start, json.loads((run_dir / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=51200)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--skip-runs", action="store_true", help="only the throughput figures")
    args = parser.parse_args()
    key = "bench-key"
    with tempfile.TemporaryDirectory(prefix="socinf-bench-remote-") as tmp_name:
        tmp = Path(tmp_name)
        proc, url = start_server(tmp, key)
        try:
            from socinf.targets.remote_client import RemoteTarget

            probe = RemoteTarget(url, key, batch_size=1, timeout_s=30, max_retries=0, backoff_s=0)
            d = len(probe.connect()["features"])
            probe.close()
            rng = np.random.default_rng(0)
            X = (rng.random((args.records, d)) < 0.03).astype(np.uint8)  # sparse keyword records, mostly distinct
            plain = throughput(url, key, X, args.batch, tmp / "ledger.sqlite", answers=False)
            cold = throughput(url, key, X, args.batch, tmp / "queries.sqlite", answers=True)
        finally:
            proc.terminate()
            proc.wait(10)
        print(f"remote throughput, batch {args.batch}, {args.records} records of {d} features over loopback:")
        print(f"  HTTP only (query cache off) : {plain:10,.0f} records/s  (goal >= 50,000: no loss to the hardening; budget ledger charged "
              "before every batch)")
        print(f"  with a cold SQLite cache    : {cold:10,.0f} records/s")
        if args.skip_runs:
            return
        local_s, local = timed_run(tmp, "local", ["target=mlp"])
        remote_s, remote = timed_run(tmp, "remote", ["target=remote", "target.model=mlp"])
        same_target = all(local["target"][k] == remote["target"][k] for k in ("train_accuracy", "test_accuracy"))
        print("full audit, dataset=tweet, cache off (wall time of the `socinf run` process):")
        print(f"  target=mlp (local)          : {local_s:6.1f} s   (pipeline total {local['timings_s']['total']:.1f} s)")
        print(f"  target=remote (spawned mlp) : {remote_s:6.1f} s   (pipeline total {remote['timings_s']['total']:.1f} s, "
              f"{remote['queries']['sent']} records over {remote['queries']['http_requests']} HTTP requests)")
        print(f"  overhead                    : {remote_s - local_s:+6.1f} s ({(remote_s / local_s - 1) * 100:+.0f} %); "
              f"stage 'target' {local['timings_s']['target']:.1f} s local (train) vs {remote['timings_s']['target']:.1f} s "
              "remote (spawn, prepare, train, /healthz)")
        print(f"  target train/test accuracy identical: {same_target}; baselines identical: "
              f"{local['baselines'] == remote['baselines']}; SocInf AUC local {local['attack']['auc']:.4f} vs remote "
              f"{remote['attack']['auc']:.4f}")


if __name__ == "__main__":
    main()
