"""Probe of issue #11: send every bad input on its list and count what happens.

    PYTHONPATH=. .venv/bin/python bench/probe_bad_inputs.py [cli] [server] [budget] [library]   (default: all)

1. CLI: bad config values, hyper-parameters, CSV tables, secrets on the command line, a corrupt query cache
   and planted stage-cache files, each a real `socinf run` -> one line (exit 2), a traceback, or accepted.
2. Server: a real `socinf serve`; a 64 MB body (its RSS and /healthz latency meanwhile), a 100 MB one,
   hostile JSON, key guessing, a half-open connection, a replayed Idempotency-Key.
3. Budget: a billing HTTP server on 127.0.0.1 (slow, lying, constant); records it billed beyond each budget.
4. Library: `socinf.audit` and the attack classes on real Tweet(4) slices (``probe_library.py``, issue 19).

Prints the counts the issue asks for: tracebacks, silent wrong results, records billed beyond budget.
"""
from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = os.environ.get("SOCINF_DATA_DIR") or str(ROOT.parent / "shared" / "data")
KEY = "probe-key-0123456789abcdef"
SMALL = ["dataset.per_class=200", "eval.size=80", "synthesis.n_records=300", "synthesis.burn_in=30", "mimic.epochs=2",
         "method.baselines=false", "threads=1"]
counts = {"one line": 0, "traceback": 0, "silent": 0, "recovered": 0}


def socinf(args, tmp: Path, env=None, timeout=300):
    environment = {**{k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}, "SOCINF_DATA_DIR": DATA,
                   "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "socinf_cli", *args], cwd=tmp, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def classify(name: str, proc, expect_error: bool = True) -> None:
    out = proc.stdout + proc.stderr
    last = (proc.stderr.strip().splitlines() or [""])[-1]
    if "Traceback" in out or proc.returncode not in (0, 2):
        kind = "traceback"
    elif expect_error:
        kind = "one line" if proc.returncode == 2 and last.startswith("socinf: error:") else "silent"
    else:  # a bad file the run must survive: recomputed, said in one line
        kind = "recovered" if proc.returncode == 0 and "stage cache: ignoring" in out else "silent"
    counts[kind] += 1
    print(f"  {kind:9s} {name:48s} {last[:110] if kind != 'recovered' else 'rc=0, bad entries recomputed'}")


def probe_cli(tmp: Path) -> None:
    print("1. CLI (each a real `socinf run`)")
    csvs = {"one class": "a,b,label\n1,0,x\n0,1,x\n1,1,x\n0,0,x\n",
            "inf": "a,b,label\n1,inf,x\n0,1,z\n1,1,x\n0,0,z\n", "0 rows": "a,b,label\n"}
    cases = [[o] for o in ("target.params.max_depth=-4", "mimic.width=50000", "mimic.depth=100", "mimic.lr_g=-1",
                           "mimic.lr_d=nan", "eval.size=999999", "target.max_retries=-1", "serve.api_key=abc",
                           "target.api_key=abc", "threads=0", "synthesis.n_records=-5")]
    cases += [["attack=svm", "attack.params.C=-1"], ["target=mlp", "target.params.hidden_layer_sizes=[-3]"],
              ["target=logistic", "+target.params.bogus=1"], ["target=remote", "target.budget_scope=bogus"],
              ["target=remote", "target.deadline_s=0"]]
    for name, text in csvs.items():
        (tmp / f"{name}.csv").write_text(text)
        cases.append(["dataset=csv", f"dataset.path={tmp / (name + '.csv')}", "eval.size=1"])
    for i, overrides in enumerate(cases):
        classify(" ".join(o.replace(str(tmp) + "/", "") for o in overrides),
                 socinf(["run", *SMALL, *overrides, f"hydra.run.dir={tmp / f'cli{i}'}", f"data.root={tmp / 'data'}"],
                        tmp))
    classify("serve on 0.0.0.0 with SOCINF_API_KEY=change-me",
             socinf(["serve", "serve.host=0.0.0.0", f"hydra.run.dir={tmp / 'weak'}"], tmp,
                    {"SOCINF_API_KEY": "change-me"}))
    # a planted pickle and random bytes in the stage cache: must never run, the run recomputes
    args = ["run", *SMALL, "target=logistic", f"data.root={tmp / 'data'}"]
    socinf([*args, f"hydra.run.dir={tmp / 'clean'}"], tmp)
    marker = tmp / "PWNED"
    evil = pickle.dumps(type("E", (), {"__reduce__": lambda self: (os.system, (f"touch {marker}",))})())  # noqa
    for meta in (tmp / "data" / "cache" / "stages").glob("*/*.json"):
        meta.with_suffix(".npz").write_bytes(evil)
        meta.with_suffix(".pkl").write_bytes(evil)
        meta.write_bytes(os.urandom(200))
    classify("planted pickle + random bytes in the stage cache", socinf([*args, f"hydra.run.dir={tmp / 'again'}"], tmp),
             expect_error=False)
    if marker.exists():
        counts["silent"] += 1
        print("  SILENT    a planted pickle RAN")
    (tmp / "data" / "cache" / "queries.sqlite").write_bytes(b"garbage" * 1000)
    classify("corrupt queries.sqlite (target=remote)",
             socinf(["run", *SMALL, "target=remote", "target.model=logistic", f"data.root={tmp / 'data'}",
                     f"hydra.run.dir={tmp / 'corrupt'}"], tmp))


# ------------------------------------------------------------------ 2. the server

def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def probe_server(tmp: Path) -> dict:
    print("2. server (a real `socinf serve`, serve.max_body_bytes = 64 MiB default)")
    port_file = tmp / "srv" / "port.json"
    env = {**os.environ, "SOCINF_API_KEY": KEY, "SOCINF_DATA_DIR": DATA, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "socinf_cli", "serve", "serve.model=logistic", *SMALL,
                               "serve.port=0", "serve.header_timeout_s=2", f"serve.port_file={port_file}",
                               f"hydra.run.dir={tmp / 'srv'}", f"data.root={tmp / 'srv-data'}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results: dict = {}
    try:
        while not port_file.exists():
            assert server.poll() is None, "socinf serve did not start"
            time.sleep(0.2)
        url = json.loads(port_file.read_text())["url"]
        headers = {"X-API-Key": KEY}
        d = len(httpx.get(f"{url}/v1/schema", headers=headers).json()["features"])
        idle = _rss_mb(server.pid)
        quiet = []
        for _ in range(20):
            start = time.monotonic()
            httpx.get(f"{url}/healthz", timeout=10)
            quiet.append(time.monotonic() - start)
        body = b'{"instances": [' + b"[" + b"0," * (d - 1) + b"0]," * 1 + (b"[" + b"0.5," * (d - 1) + b"0.5],") * \
            (64_000_000 // (4 * d + 2)) + b"[0]]}"
        latencies, peak, stop = [], [idle], threading.Event()

        def watch():
            while not stop.is_set():
                start = time.monotonic()
                httpx.get(f"{url}/healthz", timeout=10)
                latencies.append(time.monotonic() - start)
                peak.append(_rss_mb(server.pid))
                time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        big = httpx.post(f"{url}/v1/predict", content=body, headers=headers, timeout=120)
        huge = httpx.post(f"{url}/v1/predict", content=body + b" " * 40_000_000, headers=headers, timeout=120)
        stop.set()
        watcher.join()
        results.update({"64 MB body": big.status_code, "104 MB body": huge.status_code, "body MB": len(body) / 1e6,
                        "rss idle MB": idle, "rss peak MB": max(peak), "healthz idle p50 ms": 1000 * np.median(quiet),
                        "healthz p50 ms": 1000 * np.median(latencies),
                        "healthz max ms": 1000 * max(latencies)})
        hostile = {"deep nesting": b'{"instances":' + b"[" * 200_000 + b"]" * 200_000 + b"}",
                   "60-digit number": b'{"instances": [[1' + b"0" * 60 + b"]]}",
                   "1e999": b'{"instances": [[1e999]]}', "NaN": b'{"instances": [[NaN]]}',
                   "string escapes": b'{"instances": [["\\u0000"]]}', "not JSON": b"\xff\xfe{{{",
                   "empty object": b"{}", "strings as numbers": json.dumps({"instances": [["1"] * d]}).encode()}
        for name, payload in hostile.items():
            status = httpx.post(f"{url}/v1/predict", content=payload, headers=headers, timeout=30).status_code
            kind = "traceback" if status >= 500 else ("one line" if status in (413, 422) else "silent")
            counts[kind] += 1
            print(f"  {kind:9s} {name:48s} HTTP {status}")
        codes = [httpx.post(f"{url}/v1/predict", content=b"{}", headers={"X-API-Key": f"guess{i}"}).status_code
                 for i in range(15)]
        results["key guesses -> 429 after"] = codes.index(429) if 429 in codes else None
        time.sleep(2 * 10 + 1)  # let the guessing address's bucket refill before the next probes (0.5/s, burst 10)
        with socket.create_connection((urlsplit(url).hostname, urlsplit(url).port)) as sock:
            sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\n")
            sock.settimeout(10)
            start = time.monotonic()
            closed = sock.recv(10) == b""
            results["half-open dropped after s"] = round(time.monotonic() - start, 1) if closed else None
        before = httpx.get(f"{url}/v1/stats", headers=headers).json()["records"]
        rows = json.dumps({"instances": [[0] * d] * 5})
        for _ in range(2):
            httpx.post(f"{url}/v1/predict", content=rows, headers={**headers, "Idempotency-Key": "probe"})
        results["replayed key billed"] = httpx.get(f"{url}/v1/stats", headers=headers).json()["records"] - before
    finally:
        server.terminate()
        server.wait(15)
    for k, v in results.items():
        print(f"  {k:32s} {v:.1f}" if isinstance(v, float) else f"  {k:32s} {v}")
    return results


# ------------------------------------------------------------------ 3. the budget against a billing server

class Billing:
    def __init__(self, delay_s=0.0, answer=None, schema=None, classes=("a", "b"), d=6):
        self.billed, api = 0, self
        answer = answer or (lambda rows: [[0.6, 0.4]] * len(rows))

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, obj):
                body = json.dumps(obj).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_GET(self):
                self.send({"model_id": "b1", "features": [f"f{i}" for i in range(d)], "classes": list(classes),
                           "max_batch": 4096, **(schema or {})})

            def do_POST(self):
                rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instances"]
                api.billed += len(rows)
                time.sleep(delay_s)
                self.send({"probabilities": answer(rows), "classes": list(classes), "model_id": "b1"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def probe_budget(tmp: Path) -> int:
    from socinf.errors import SocinfError
    from socinf.targets.query_cache import QueryCache
    from socinf.targets.remote_client import RemoteTarget

    print("3. budget and answers (a billing HTTP server on 127.0.0.1)")
    rng = np.random.default_rng(0)
    beyond = 0

    def attempt(url, db_path, records, **kw):
        with QueryCache(db_path) as db:
            client = RemoteTarget(url, ledger=db, cache=db, batch_size=256, backoff_s=0.05, **kw)
            try:
                client.connect()
                client.predict_proba(records)
                return "answered"
            except SocinfError as exc:
                return str(exc).splitlines()[0][:90]

    api = Billing()  # max_queries=3000 twice on one data root (the probe of main: 4391 answered)
    for run in range(2):
        attempt(api.url, tmp / "q1.sqlite", rng.random((2500, 6)), max_queries=3000, max_retries=0)  # distinct
    beyond += max(0, api.billed - 3000)
    print(f"  two runs, max_queries=3000                : billed {api.billed}")
    api = Billing(delay_s=3)  # timeout_s=2, max_retries=2, max_queries=300 (main: one 256-batch billed 3 times)
    outcome = attempt(api.url, tmp / "q2.sqlite", rng.random((256, 6)), max_queries=300, timeout_s=2, max_retries=2)
    time.sleep(3.5)
    beyond += max(0, api.billed - 300)
    print(f"  slow server, 3 attempts, max_queries=300  : billed {api.billed} ({outcome})")
    lies = {"answers as strings": dict(answer=lambda rows: [["0.6", "0.4"]] * len(rows)),
            "rows summing to 2 (schema allows 2)": dict(answer=lambda rows: [[1.0, 1.0]] * len(rows),
                                                        schema={"output": {"row_sum_min": 0, "row_sum_max": 2}}),
            "schema max_batch 'abc'": dict(schema={"max_batch": "abc"})}
    for name, kw in lies.items():
        outcome = attempt(Billing(**kw).url, tmp / "q3.sqlite", rng.random((10, 6)))
        kind = "silent" if outcome == "answered" else "one line"
        counts[kind] += 1
        print(f"  {kind:9s} {name:40s} {outcome}")
    from socinf.attacks.base import AttackContext, AttackerKnowledge
    from socinf.attacks.socinf import SocInf
    from socinf.targets.base import CountingTarget

    constant = Billing(answer=lambda rows: [[0.4, 0.3, 0.3]] * len(rows), classes=("a", "b", "c"))
    client = RemoteTarget(constant.url, max_retries=0)
    client.connect()
    X = rng.integers(0, 2, (90, 6)).astype(np.uint8)
    try:
        SocInf(synthesis={"name": "population"}, mimic={"epochs": 1}).fit(
            CountingTarget(client, 3, 6), AttackerKnowledge(X, np.arange(90) % 3, 3, 6), AttackContext(seed=0))
        print("  one line  constant answers                          SocInf completes (mimic skipped, chance score)")
        counts["one line"] += 1
    except Exception as exc:  # noqa: BLE001 - what the probe counts
        counts["traceback"] += 1
        print(f"  traceback constant answers: {type(exc).__name__}: {exc}")
    return beyond


def main(sections: list[str]) -> None:
    from probe_library import probe_library

    sections = sections or ["cli", "server", "budget", "library"]
    server, beyond = {}, 0
    with tempfile.TemporaryDirectory(prefix="socinf-probe-") as name:
        tmp = Path(name)
        if "cli" in sections:
            probe_cli(tmp)
        if "server" in sections:
            server = probe_server(tmp)
        if "budget" in sections:
            beyond = probe_budget(tmp)
        if "library" in sections:
            probe_library(counts)
    print(f"\noutcomes: {counts}")
    print(f"tracebacks {counts['traceback']}, silent wrong results {counts['silent']}, "
          f"records billed beyond budget {beyond}; server RSS {server.get('rss idle MB', 0):.0f} MB idle, "
          f"{server.get('rss peak MB', 0):.0f} MB peak under a {server.get('body MB', 0):.0f} MB body "
          f"(HTTP {server.get('64 MB body')}), /healthz meanwhile p50 {server.get('healthz p50 ms', 0):.1f} ms, "
          f"max {server.get('healthz max ms', 0):.1f} ms (idle p50 {server.get('healthz idle p50 ms', 0):.1f} ms)")


if __name__ == "__main__":
    main(sys.argv[1:])
