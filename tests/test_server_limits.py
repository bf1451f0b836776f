"""Issue #11 defect 4: `socinf serve` stays bounded. A real uvicorn server on 127.0.0.1 with the settings
`socinf serve` uses (``server_config``), real sockets, a real 64 MB request."""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from sklearn.linear_model import LogisticRegression

from socinf.errors import ConfigError
from socinf.serve.app import check_serve_config, create_app, server_config
from socinf.serve.model import ServedModel, input_schema
from socinf.serve.config import ServeConfig
from loopback import made_then_stopped
from socinf_runner import socinf

D, KEY = 8, "k3y-for-the-limits-test-0001"


def _rss_peak_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux)


def _rss_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


class Live:
    def __init__(self, **serve):
        rng = np.random.default_rng(0)
        X = rng.integers(0, 2, (100, D)).astype(float)
        model = LogisticRegression().fit(X, X[:, 0].astype(int))
        cfg = replace(ServeConfig(port=0, api_key=KEY), **serve)
        schema, binary = input_schema(X, [f"f{i}" for i in range(D)], ["a", "b"], "m", cfg.max_batch,
                                      cfg.max_body_bytes, (1.0, 1.0), None)
        self.server = uvicorn.Server(server_config(create_app(ServedModel("m", model, schema, binary), cfg), cfg))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live():
    yield from made_then_stopped(Live, stop="stop")


def post(url: str, content, **headers):
    return httpx.post(f"{url}/v1/predict", content=content, headers={"X-API-Key": KEY, **headers}, timeout=60)


def test_64_mb_request_is_413_before_parsing_and_healthz_stays_fast(live):
    server = live(max_body_bytes=1 << 20)
    body = b'{"instances": [' + b"[0,1,0,1,0,1,0,1]," * (64 * (1 << 20) // 18) + b"[0]]}"
    assert len(body) > 64 * 10**6
    _rss_peak_reset()
    base = _rss_peak_mb()
    answer = post(server.url, body)
    assert answer.status_code == 413 and "serve.max_body_bytes" in answer.json()["detail"]
    # without Content-Length (chunked): refused while streaming, before 64 MB are held
    latencies = []

    def chunks():
        for _ in range(64):
            start = time.monotonic()
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
            latencies.append(time.monotonic() - start)
            yield b"[0,1,0,1,0,1,0,1]," * 58000  # ~1 MB

    answer = post(server.url, chunks())
    assert answer.status_code == 413
    assert max(latencies) < 0.5, latencies
    assert _rss_peak_mb() - base < 200 - 64  # the 64 MB body bytes of this process aside, nothing was parsed


def test_big_json_within_the_size_limit_is_parsed_off_the_event_loop(live):
    server = live(max_batch=4096)
    rows = [[0.5] * D for _ in range(4096)]
    body = json.dumps({"instances": rows}).encode()  # numbers the API refuses, after a real parse
    done = []
    thread = threading.Thread(target=lambda: done.append(post(server.url, body * 1)))
    thread.start()
    slowest = 0.0
    while thread.is_alive():
        start = time.monotonic()
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        slowest = max(slowest, time.monotonic() - start)
    assert done[0].status_code == 422 and slowest < 0.5


@pytest.mark.parametrize("body, problem", [
    (b'{"instances": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper than 4"),
    (b'{"instances": [[1' + b"0" * 60 + b',0,0,0,0,0,0,0]]}', "more than 30 digits"),
    (b'{"instances": [[1e999,0,0,0,0,0,0,0]]}', "finite"),
    (b'{"instances": [[0,0,0,0,0,0,0,0]], "x": "\\u0000"}', "escapes"),
    (b'{"instances": [' + b"[0,0,0,0,0,0,0,0]," * 5000 + b"[0,0,0,0,0,0,0,0]]}", "more than"),
])
def test_hostile_json_is_422_never_500(live, body, problem):
    server = live(max_batch=4096)
    answer = post(server.url, body)
    assert answer.status_code == 422 and problem in answer.json()["detail"], answer.text[:200]
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_failed_key_attempts_are_rate_limited_per_client(live):
    server = live()
    codes = [post(server.url, b"{}", **{"X-API-Key": f"guess-{i}"}).status_code for i in range(14)]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    right = post(server.url, json.dumps({"instances": [[0] * D]}).encode())
    assert right.status_code == 429 and int(right.headers["Retry-After"]) >= 1  # the guesser must wait


def test_half_open_connection_is_dropped(live):
    server = live(header_timeout_s=1.0)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\n")  # and never the rest of the head
        sock.settimeout(6)
        start = time.monotonic()
        assert sock.recv(100) == b""  # closed by the server
        assert time.monotonic() - start < 4


def test_requests_beyond_the_limit_get_503_idle_connections_do_not(live):
    """Issue 20 (Why 9): idle connections held open kept /healthz and predict at 503. Now only requests in
    flight count (a body still arriving is one), and /healthz is always answered."""
    server = live(max_connections=2, header_timeout_s=30)
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(8)]
    head = (f"POST /v1/predict HTTP/1.1\r\nHost: x\r\nX-API-Key: {KEY}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n{").encode()
    busy = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
    try:
        time.sleep(0.2)
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # 8 idle connections take no slot
        assert post(server.url, json.dumps({"instances": [[0] * D]}).encode()).status_code == 200
        for sock in busy:
            sock.sendall(head)  # a request whose body never ends: in flight until BODY_TIMEOUT_S
        time.sleep(0.3)
        third = post(server.url, json.dumps({"instances": [[0] * D]}).encode())
        assert third.status_code == 503 and third.headers["Retry-After"] == "1"
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        for sock in idle + busy:
            sock.close()


@pytest.mark.parametrize("key", [None, "change-me", "secret", "password", "short-key", "aaaaaaaaaaaaaaaaaaaa"])
def test_non_loopback_needs_a_real_key(key):
    with pytest.raises(ConfigError, match=">= 16 characters that is not a known default"):
        check_serve_config(ServeConfig(host="0.0.0.0", api_key=key))
    check_serve_config(ServeConfig(host="0.0.0.0", api_key="Zq8-lW2pX9_rT4vB7nM1"))


def test_api_key_never_on_the_command_line_nor_in_saved_config(tmp_path, shared_data_dir):
    for key in ("serve.api_key", "target.api_key", "+target.api_key"):
        proc = socinf(["run", f"{key}=abcdef0123456789abcd", f"hydra.run.dir={tmp_path / 'x'}"], tmp_path,
                      shared_data_dir)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith(f"socinf: error: {key.lstrip('+')}=... on the command line")
        assert not (tmp_path / "x").exists()
    secret = "s3cret-from-env-0123456789"
    run = tmp_path / "run"
    proc = socinf(["run", "dataset.per_class=100", "eval.size=50", "synthesis.n_records=200", "mimic.epochs=2",
                   "target=logistic", f"hydra.run.dir={run}", f"data.root={tmp_path / 'data'}"], tmp_path,
                  shared_data_dir, env_extra={"SOCINF_API_KEY": secret})
    assert proc.returncode == 0, proc.stderr[-2000:]
    saved = [p for p in run.rglob("*") if p.is_file()]
    assert {"config.yaml", "metrics.json", "run.log"} <= {p.name for p in saved}
    assert not [p for p in saved if secret in p.read_text(errors="replace")]
    assert "${oc.env:SOCINF_API_KEY,null}" in (run / ".hydra" / "config.yaml").read_text()


def test_bodies_in_flight_beyond_the_budget_get_503(live):
    """Issue 20 (Why 9): 12 concurrent 60 MB bodies were all accepted (RSS 310 -> 1236 MB). A body's declared
    length is now reserved against serve.max_inflight_bytes before it is read, 503 beyond; /healthz and small
    requests stay answered, and the bytes are released when the request ends. Budget here: 1 MB."""
    server = live(max_inflight_bytes=1_000_000, header_timeout_s=30)
    head = (f"POST /v1/predict HTTP/1.1\r\nHost: x\r\nX-API-Key: {KEY}\r\nContent-Length: 600000\r\n\r\n"
            '{"instances": [').encode()
    held = socket.create_connection(("127.0.0.1", server.port))
    try:
        held.sendall(head)  # 600 KB declared, a few bytes sent: reserved while it arrives
        time.sleep(0.3)
        refused = post(server.url, b"{" + b" " * 599_000 + b"}")
        assert refused.status_code == 503 and "serve.max_inflight_bytes" in refused.json()["detail"]
        assert refused.headers["Retry-After"] == "1"
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        assert post(server.url, json.dumps({"instances": [[0] * D]}).encode()).status_code == 200  # fits beside
    finally:
        held.close()
    time.sleep(0.3)
    assert post(server.url, b"{" + b" " * 599_000 + b"}").status_code == 422  # read (and refused as JSON) now
