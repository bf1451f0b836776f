"""Section 2 of ``bench/probe_bad_inputs.py``: a real `socinf serve` (issue 11's cases: a 64 MB body, hostile JSON,
key guessing, a half-open connection, a replayed Idempotency-Key) and issue 20's (Why 9): a concurrent burst of
one Idempotency-Key, 1e300 sent to a served CSV model, idle connections held open, 12 concurrent 60 MB bodies."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

from bench_server import healthz_with_idle, rss_mb
from probe_common import KEY, SMALL, TALLY, classify, env, socinf

H = {"X-API-Key": KEY}


def start(tmp: Path, name: str, overrides: list[str]) -> tuple[subprocess.Popen, str]:
    port_file = tmp / name / "port.json"
    server = subprocess.Popen([sys.executable, "-m", "socinf_cli", "serve", "serve.model=logistic", *SMALL,
                               *overrides, "serve.port=0", "serve.header_timeout_s=2", f"serve.port_file={port_file}",
                               f"hydra.run.dir={tmp / name}", f"data.root={tmp / 'srv-data'}"], env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not port_file.exists():
        assert server.poll() is None, "socinf serve did not start"
        time.sleep(0.2)
    return server, json.loads(port_file.read_text())["url"]


def _status(kind_ok, name: str, codes, kind: str = "one line") -> None:
    """An HTTP outcome: a 5xx (but 503) is the server's traceback; ``kind`` when as expected, else silent."""
    kind = "traceback" if any(c >= 500 and c != 503 for c in codes) else (kind if kind_ok else "silent")
    TALLY.record(kind, name, f"HTTP {sorted(set(codes))}")


def probe_issue11_server(url: str, pid: int, d: int) -> dict:
    body = b'{"instances": [' + (b"[" + b"0.5," * (d - 1) + b"0.5],") * (64_000_000 // (4 * d + 2)) + b"[0]]}"
    idle, latencies, peak, stop = rss_mb(pid), [], [rss_mb(pid)], threading.Event()

    def watch():
        while not stop.is_set():
            started = time.monotonic()
            httpx.get(f"{url}/healthz", timeout=10)
            latencies.append(time.monotonic() - started)
            peak.append(rss_mb(pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    big = httpx.post(f"{url}/v1/predict", content=body, headers=H, timeout=120).status_code
    huge = httpx.post(f"{url}/v1/predict", content=body + b" " * 40_000_000, headers=H, timeout=120).status_code
    stop.set()
    watcher.join()
    _status(big in (413, 422) and huge == 413, "64 MB body, 104 MB body (413: over any useful request)", [big, huge])
    hostile = {"deep nesting": b'{"instances":' + b"[" * 200_000 + b"]" * 200_000 + b"}",
               "60-digit number": b'{"instances": [[1' + b"0" * 60 + b"]]}", "1e999": b'{"instances": [[1e999]]}',
               "NaN": b'{"instances": [[NaN]]}', "string escapes": b'{"instances": [["\\u0000"]]}',
               "not JSON": b"\xff\xfe{{{", "empty object": b"{}",
               "strings as numbers": json.dumps({"instances": [["1"] * d]}).encode()}
    for name, payload in hostile.items():
        code = httpx.post(f"{url}/v1/predict", content=payload, headers=H, timeout=30).status_code
        _status(code in (413, 422), name, [code])
    started = time.monotonic()
    codes = [httpx.post(f"{url}/v1/predict", content=b"{}", headers={"X-API-Key": f"guess{i}"}).status_code
             for i in range(15)]
    allowed = 10 + int(0.5 * (time.monotonic() - started)) + 1  # a burst of 10, then one attempt per 2 s
    first = codes.index(429) if 429 in codes else len(codes)
    _status(set(codes[:first]) == {401} and set(codes[first:]) == {429} and 10 <= first <= allowed,
            f"15 wrong keys: 401 x {first}, then 429", codes)
    time.sleep(2 * 10 + 1)  # the guessing address's bucket refills (0.5/s, burst 10) before the next probes
    host, port = urlsplit(url).hostname, urlsplit(url).port
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(10)
        started = time.monotonic()
        dropped = sock.recv(10) == b""
    TALLY.record("ok" if dropped else "silent", "half-open connection dropped", f"after {time.monotonic() - started:.1f} s")
    before = httpx.get(f"{url}/v1/stats", headers=H).json()["records"]
    for _ in range(2):
        httpx.post(f"{url}/v1/predict", content=json.dumps({"instances": [[0] * d] * 5}),
                   headers={**H, "Idempotency-Key": "probe"})
    billed = httpx.get(f"{url}/v1/stats", headers=H).json()["records"] - before
    TALLY.record("ok" if billed == 5 else "silent", "a replayed Idempotency-Key billed once", f"billed {billed} of 5")
    return {"body MB": len(body) / 1e6, "rss idle MB": idle, "rss peak MB": max(peak),
            "healthz p50 ms": 1000 * float(np.median(latencies)), "healthz max ms": 1000 * max(latencies)}


def _burst(url: str, body: bytes, headers: dict, n: int) -> list[int]:
    barrier, codes = threading.Barrier(n), [0] * n

    def send(i):
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            codes[i] = client.post(f"{url}/v1/predict", content=body, headers=headers).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return codes


def probe_burst_and_float32(url: str, d: int, tmp: Path, table: Path) -> None:
    long = "0.1234567890123456789012345"  # a body over 256 KB: parsed in a thread while its twins wait
    rows = lambda width: ",".join(["[" + ",".join([long] * width) + "]"] * 3000)  # noqa: E731
    codes = []
    for trial in range(3):
        codes += _burst(url, f'{{"instances": [{rows(d + 1)}]}}'.encode(), {**H, "Idempotency-Key": f"b{trial}"}, 4)
    _status(codes == [422] * 12, "case 9: 4 concurrent twins of a failing Idempotency-Key x 3", codes)
    codes = _burst(url, f'{{"instances": [{rows(d)}]}}'.encode(), {**H, "Idempotency-Key": "good"}, 4)
    _status(codes == [200] * 4, "relative: 4 concurrent twins of a valid Idempotency-Key", codes, "ok")
    for value in (1e300, 1e39):
        body = json.dumps({"instances": [[value] + [0.5] * (d - 1)]}).encode()
        code = httpx.post(f"{url}/v1/predict", content=body, headers=H).status_code
        _status(code == 422, f"case 9: {value:g} to a served CSV model", [code])
    text = table.read_text().splitlines()
    for value in ("1e300", "-1e39"):
        text[3] = value + "," + text[3].split(",", 1)[1]
        (tmp / "huge.csv").write_text("\n".join(text) + "\n")
        classify(f"case 9: {value} in a dataset=csv file", socinf(
            ["run", "dataset=csv", f"dataset.path={tmp / 'huge.csv'}", "target=logistic", "eval.size=20",
             f"hydra.run.dir={tmp / 'huge-run'}", f"data.root={tmp / 'data'}"], tmp))


def probe_idle_connections(url: str, seconds: float = 20.0, held: int = 64) -> dict:
    """``held`` connections that never send a request, reopened every 8 s, while /healthz is asked every 50 ms
    (the review: 53 of 53 probes at 503 over 30 s); then a predict must still be answered."""
    health = healthz_with_idle(url, held, seconds)
    code = httpx.post(f"{url}/v1/predict", content=b"{}", headers=H, timeout=10).status_code
    blocked = health["503"] + (code == 503)
    TALLY.record("ok" if blocked == 0 else "silent", f"case 9: {held} idle connections, reopened every 8 s",
                 f"{blocked} of {health['probes'] + 1} probes got 503; /healthz p99 {health['p99_ms']:.1f} ms")
    return {f"healthz p99 ms ({held} idle)": health["p99_ms"]}


def probe_server(tmp: Path) -> dict:
    print("2. server (real `socinf serve` processes)")
    from probe_files import numeric_table

    results = {}
    server, url = start(tmp, "srv", [])
    try:
        d = len(httpx.get(f"{url}/v1/schema", headers=H).json()["features"])
        results.update(probe_issue11_server(url, server.pid, d))
        results.update(probe_idle_connections(url))
        results.update(probe_idle_connections(url, seconds=6, held=300))  # relative: past the open-connection cap
    finally:
        server.terminate()
        server.wait(15)
    table = numeric_table(tmp / "numbers.csv")
    server, url = start(tmp, "csv-srv", ["dataset=csv", f"dataset.path={table}", "eval.size=20"])
    try:
        probe_burst_and_float32(url, 5, tmp, table)
    finally:
        server.terminate()
        server.wait(15)
    return results
