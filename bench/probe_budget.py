"""Section 3 of ``bench/probe_bad_inputs.py``: a billing HTTP server on 127.0.0.1 and the budget (issue 11: slow,
lying, constant servers), then issue 20's: the same server under other spellings of its URL (Why 3), a 300 MB
answer to 10 records (Why 10), a server that echoes the API key in its errors."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from probe_common import KEY, TALLY

SPELLINGS = ["http://127.1:{p}", "http://2130706433:{p}", "http://0x7f000001:{p}", "http://127.0.0.1:{p}/.",
             "http://[::ffff:127.0.0.1]:{p}", "http://0.0.0.0:{p}", "HTTP://LOCALHOST:{p}//", "http://[::ffff:7f00:1]:{p}"]


class Billing:
    def __init__(self, delay_s=0.0, answer=None, schema=None, classes=("a", "b"), d=6, pad_mb=0, echo=False):
        self.billed, api = 0, self
        answer = answer or (lambda rows: [[0.6, 0.4]] * len(rows))

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, obj, status=200, pad=0):
                body = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body) + pad))
                    self.end_headers()
                    self.wfile.write(body[:-1])
                    for _ in range(pad // (1 << 20)):
                        self.wfile.write(b" " * (1 << 20))
                    self.wfile.write(b" " * (pad % (1 << 20)) + body[-1:])
                except OSError:
                    pass

            def do_GET(self):
                if echo:
                    return self.send({"detail": f"refused; you sent {dict(self.headers)}"}, status=400)
                self.send({"model_id": "b1", "features": [f"f{i}" for i in range(d)], "classes": list(classes),
                           "max_batch": 4096, **(schema or {})})

            def do_POST(self):
                rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instances"]
                api.billed += len(rows)
                time.sleep(delay_s)
                self.send({"probabilities": answer(rows), "classes": list(classes), "model_id": "b1"},
                          pad=pad_mb << 20)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def attempt(url, db_path, records, **kw) -> str:
    from socinf.errors import SocinfError
    from socinf.targets.query_cache import QueryCache
    from socinf.targets.remote_client import RemoteTarget

    with QueryCache(db_path) as db:
        client = RemoteTarget(url, ledger=db, cache=db, batch_size=256, backoff_s=0.05, **kw)
        try:
            client.connect()
            client.predict_proba(records)
            return "answered"
        except SocinfError as exc:
            return str(exc).splitlines()[0][:110]
        finally:
            client.close()


def probe_issue11_budget(tmp: Path, rng) -> int:
    api = Billing()  # max_queries=3000 twice on one data root (the probe of main: 4391 answered)
    for _ in range(2):
        attempt(api.url, tmp / "q1.sqlite", rng.random((2500, 6)), max_queries=3000, max_retries=0)
    beyond = max(0, api.billed - 3000)
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
        TALLY.record("silent" if outcome == "answered" else "one line", name, outcome)
    return beyond


def probe_spellings(tmp: Path, rng) -> int:
    """Case 3: 1412 of max_queries=1500 spent through http://127.0.0.1:PORT, then every other spelling tries."""
    api = Billing()
    attempt(api.url, tmp / "q4.sqlite", rng.random((1412, 6)), max_queries=1500, max_retries=0)
    for spelling in SPELLINGS:
        outcome = attempt(spelling.format(p=api.port), tmp / "q4.sqlite", rng.random((1038, 6)), max_queries=1500,
                          max_retries=0)
        TALLY.record("one line" if outcome.startswith("target.max_queries=1500") else "silent",
                     f"case 3: the same ledger through {spelling.format(p='PORT')}", outcome)
    print(f"  {len(SPELLINGS)} spellings of one server, max_queries=1500: billed {api.billed}")
    return max(0, api.billed - 1500)


def probe_answers(tmp: Path, rng) -> None:
    """Case 10 and a relative: answers far larger than rows x classes; a server echoing the key."""
    for name, kw in {"case 10: a 300 MB answer to 10 records": dict(pad_mb=300)}.items():
        started = time.monotonic()
        outcome = attempt(Billing(**kw).url, tmp / "q5.sqlite", rng.random((10, 6)), max_retries=3)
        kind = "one line" if "the answer is" in outcome and "bytes" in outcome else "silent"
        TALLY.record(kind, name, f"{outcome} ({time.monotonic() - started:.1f} s)")
    from socinf.targets.remote_client import RemoteTarget

    echo = Billing(echo=True)
    outcome = "answered"
    try:
        RemoteTarget(echo.url, KEY, max_retries=0).connect()
    except Exception as exc:  # noqa: BLE001 - what the probe looks at
        outcome = str(exc)
    TALLY.record("silent" if KEY in outcome or outcome == "answered" else "one line",
                 "relative: a server echoing the key in its error", outcome)


def probe_constant(rng) -> None:
    from socinf.attacks.base import AttackContext, AttackerKnowledge
    from socinf.attacks.socinf import SocInf
    from socinf.targets.base import CountingTarget
    from socinf.targets.remote_client import RemoteTarget

    constant = Billing(answer=lambda rows: [[0.4, 0.3, 0.3]] * len(rows), classes=("a", "b", "c"))
    client = RemoteTarget(constant.url, max_retries=0)
    client.connect()
    X = rng.integers(0, 2, (90, 6)).astype(np.uint8)
    try:
        SocInf(synthesis={"name": "population"}, mimic={"epochs": 1}).fit(
            CountingTarget(client, 3, 6), AttackerKnowledge(X, np.arange(90) % 3, 3, 6), AttackContext(seed=0))
        TALLY.record("ok", "constant answers", "SocInf completes (mimic skipped, chance score)")
    except Exception as exc:  # noqa: BLE001 - what the probe counts
        TALLY.record("traceback", "constant answers", f"{type(exc).__name__}: {exc}")


def probe_budget(tmp: Path) -> int:
    print("3. budget and answers (a billing HTTP server on 127.0.0.1)")
    rng = np.random.default_rng(0)
    beyond = probe_issue11_budget(tmp, rng) + probe_spellings(tmp, rng)
    probe_answers(tmp, rng)
    probe_constant(rng)
    return beyond
