"""`socinf serve` under load it must survive (issue 20): memory under big concurrent bodies, /healthz under idle
connections.

    PYTHONPATH=. .venv/bin/python bench/bench_server.py [--bodies 12] [--body-mb 60] [--idle 64] [--seconds 30]

1. Starts a real `socinf serve` (Tweet(4), mlp) on a free loopback port; sends ``--bodies`` requests of
   ``--body-mb`` MB each at the same instant and samples the server's resident memory every 10 ms. Goal: peak
   RSS <= 600 MB (the review: 12 x 60 MB were all accepted, RSS 310 -> 1236 MB). A body longer than any useful
   request (``serve.max_batch`` x features x 64 bytes) is refused 413 by its Content-Length; below that, the
   bodies beyond ``serve.max_inflight_bytes`` (128 MiB) are answered 503 before they are read.
2. Holds ``--idle`` connections that never send a request (reopened every 8 s, as the review's client did)
   and asks /healthz every 50 ms for ``--seconds``. Goal: p99 < 250 ms and no 503 (the review: 53 of 53 at 503).
Timings on a shared machine are noisy: re-measure on a quiet one.
"""
from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_remote import start_server  # noqa: E402 - a real `socinf serve` (Tweet(4), mlp) on a free port

KEY = "bench-server-key-0123456789"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def big_bodies(url: str, pid: int, n: int, mb: int, d: int) -> dict:
    row = b"[" + b"0.5," * (d - 1) + b"0.5],"
    body = b'{"instances": [' + row * (mb * 1_000_000 // len(row)) + b"[0]]}"
    samples, stop, codes = [rss_mb(pid)], threading.Event(), [0] * n
    barrier = threading.Barrier(n)

    def sample():
        while not stop.is_set():
            samples.append(rss_mb(pid))
            time.sleep(0.01)

    def send(i):
        with httpx.Client(timeout=300) as client:
            barrier.wait()
            try:
                codes[i] = client.post(f"{url}/v1/predict", content=body, headers={"X-API-Key": KEY}).status_code
            except httpx.HTTPError as exc:  # a 503 with Connection: close can cut our upload short
                codes[i] = type(exc).__name__
    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    stop.set()
    sampler.join()
    return {"idle_mb": samples[0], "peak_mb": max(samples), "codes": {str(c): codes.count(c) for c in set(codes)},
            "body_mb": len(body) / 1e6}


def healthz_with_idle(url: str, idle: int, seconds: float) -> dict:
    host, port = url.rsplit("//", 1)[1].split(":")
    socks, stop, latencies, codes = [], threading.Event(), [], []

    def hold():
        while not stop.is_set():
            for s in socks:
                s.close()
            socks[:] = [socket.create_connection((host, int(port))) for _ in range(idle)]
            stop.wait(8)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(1)
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            started = time.monotonic()
            codes.append(client.get(f"{url}/healthz").status_code)
            latencies.append(1000 * (time.monotonic() - started))
            time.sleep(0.05)
    stop.set()
    holder.join()
    for s in socks:
        s.close()
    return {"p50_ms": float(np.median(latencies)), "p99_ms": float(np.percentile(latencies, 99)),
            "max_ms": max(latencies), "probes": len(codes), "503": codes.count(503)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=12)
    parser.add_argument("--body-mb", type=int, nargs="+", default=[60, 40],
                        help="body sizes, one burst each (60: the review's; 40: under the largest useful body of "
                             "Tweet(4), 4096 x 200 x 64 bytes = 52 MB, so the in-flight budget decides)")
    parser.add_argument("--idle", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="socinf-bench-server-") as name:
        proc, url = start_server(Path(name), KEY)
        try:
            d = len(httpx.get(f"{url}/v1/schema", headers={"X-API-Key": KEY}).json()["features"])
            for mb in args.body_mb:
                mem = big_bodies(url, proc.pid, args.bodies, mb, d)
                print(f"{args.bodies} concurrent {mem['body_mb']:.0f} MB bodies: server RSS {mem['idle_mb']:.0f} MB "
                      f"before, {mem['peak_mb']:.0f} MB peak (goal <= 600 MB); answers {mem['codes']}")
            health = healthz_with_idle(url, args.idle, args.seconds)
            print(f"/healthz while {args.idle} idle connections are held (reopened every 8 s), {health['probes']} "
                  f"probes over {args.seconds:g} s: p50 {health['p50_ms']:.1f} ms, p99 {health['p99_ms']:.1f} ms "
                  f"(goal < 250 ms), max {health['max_ms']:.1f} ms, {health['503']} x 503")
        finally:
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
