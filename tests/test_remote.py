"""`socinf serve` and `target=remote`, over real HTTP on 127.0.0.1.

A real `socinf serve` subprocess answers every test; faults (500s, 429, malformed
answers, a server dying mid-run) come from a small real HTTP proxy in a thread
placed in front of it. Runs are small slices of the real Tweet corpus.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import numpy as np
from threadpoolctl import threadpool_limits
import pytest
import uvicorn

from socinf.cache import StageCache
from socinf_cli.compose import compose
from socinf.serve.config import ServeConfig
from socinf.errors import ConfigError, RemoteTargetError
from socinf_cli.pipeline import run_audit
from socinf_cli.paths import data_root, prepare
from socinf.serve.app import create_app
from socinf.targets.codec import (ANSWER_HEADER, FLOAT64, decode_float64_answer, encode_answer,
                                  encode_sparse_instances)
from socinf_cli.serve import build_served_model
from socinf_cli.targets import model_params
from socinf.owner import defenses
from socinf.owner.models import answers
from socinf.targets.query_cache import QueryCache
from socinf_cli.remote import open_remote_target
from socinf.targets.remote_client import RemoteTarget
from loopback import LoopbackHTTP, made_then_stopped
from socinf_runner import KEY, socinf, start_server

pytestmark = pytest.mark.slow  # real servers, subprocesses and sweeps

FAST = ["dataset=tweet", "dataset.per_class=300", "eval.size=100", "synthesis.n_records=600", "synthesis.burn_in=50",
        "mimic.epochs=3", "method.baselines=false", "threads=1"]


@pytest.fixture(scope="session")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("remote")


def common(root: Path, data_dir: Path) -> list[str]:
    return [f"data.dir={data_dir}", f"cache.dir={root / 'stages'}"]  # one stage cache: data prepared once


@pytest.fixture(scope="session")
def server(root, shared_data_dir):
    s = start_server(root / "server", FAST + common(root, shared_data_dir) + [
        f"data.root={root / 'server-data'}", "serve.max_batch=300", "serve.max_body_bytes=150000"], shared_data_dir)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def prepared(root, shared_data_dir):
    cfg = compose(FAST + common(root, shared_data_dir) + [f"data.root={root / 'client-data'}"])
    return cfg, prepare(cfg, StageCache(root / "stages"))[0]


def remote_cfg(root: Path, data_dir: Path, tmp: Path, url: str, server_dir: Path, *extra: str):
    return compose(FAST + common(root, data_dir) + [
        f"data.root={tmp / 'data'}", "target=remote", f"target.url={url}", f"target.server_dir={server_dir}",
        f"target.api_key={KEY}", *extra])


def cached_answers(cfg) -> int:
    with QueryCache(data_root(cfg) / "cache" / "queries.sqlite") as cache:
        return cache.count()


# ------------------------------------------------------------------ a misbehaving real HTTP server in front

@dataclass
class FaultProxy:
    """Forwards to ``upstream``; the first predict calls get the scripted (status, headers) instead."""

    upstream: str
    script: list = field(default_factory=list)
    mutate: object = None  # bytes -> bytes, applied to good predict answers
    after_forward: object = None  # called after each forwarded predict answer
    log: list = field(default_factory=list)  # (monotonic time, status) per predict call
    forwarded_records: int = 0
    offer_float64: bool = True  # False: the relayed schema drops "answer_encodings" (a server without them)

    def __post_init__(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.relay("GET")

            def do_POST(self):
                self.relay("POST")

            def reply(self, status: int, body: bytes, headers: dict | None = None):
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if self.path == "/v1/predict":
                    proxy.log.append((time.monotonic(), status))

            def relay(self, method: str):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v1/predict" and proxy.script:
                    status, headers = proxy.script.pop(0)
                    return self.reply(status, b'{"detail": "injected fault"}', headers)
                headers = {k: self.headers[k] for k in ("X-API-Key", "Content-Type", ANSWER_HEADER) if self.headers.get(k)}
                try:
                    answer = httpx.request(method, proxy.upstream + self.path, content=body, headers=headers)
                except httpx.TransportError:
                    return self.reply(502, b'{"detail": "upstream down"}')
                content = answer.content
                if self.path == "/v1/schema" and answer.status_code == 200 and not proxy.offer_float64:
                    content = json.dumps({k: v for k, v in answer.json().items() if k != "answer_encodings"}).encode()
                if self.path == "/v1/predict" and answer.status_code == 200:
                    proxy.forwarded_records += len(answer_matrix(content))
                    content = proxy.mutate(content) if proxy.mutate else content
                    if proxy.after_forward:
                        proxy.after_forward(proxy)
                self.reply(answer.status_code, content)

        self.http = LoopbackHTTP(Handler)
        self.url, self.close = self.http.url, self.http.close


@pytest.fixture
def proxy_factory():
    yield from made_then_stopped(FaultProxy)


# ------------------------------------------------------------------ the API itself

def test_api_contract_and_answers_equal_the_same_model_trained_locally(server, prepared):
    cfg, data = prepared
    key = {"X-API-Key": KEY}
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.get(f"{server.url}/v1/schema").status_code == 401
    schema = httpx.get(f"{server.url}/v1/schema", headers=key).json()
    assert set(schema) == {"model_id", "features", "classes", "max_batch", "max_body_bytes", "output", "idempotency",
                           "encodings", "answer_encodings"}
    assert schema["answer_encodings"] == ["json", "float64"]
    assert schema["encodings"] == ["dense", "sparse"]  # rows as lists, or {"indices", "values"}
    assert [f["name"] for f in schema["features"]] == data.feature_names and schema["classes"] == data.class_names
    assert {f["type"] for f in schema["features"]} == {"binary"}
    for path in ("/docs", "/openapi.json", "/redoc", "/v1/members"):  # nothing else is reachable
        assert httpx.get(f"{server.url}{path}", headers=key).status_code == 404

    X = data.X[data.splits.members[:50]]  # keyword records: CSR
    answer = httpx.post(f"{server.url}/v1/predict", json={"instances": X.toarray().tolist()}, headers=key).json()
    sparse_answer = httpx.post(f"{server.url}/v1/predict", content=encode_sparse_instances(X),
                               headers={**key, "Content-Type": "application/json"}).json()
    assert sparse_answer["probabilities"] == answer["probabilities"]  # both encodings, one answer
    packed = httpx.post(f"{server.url}/v1/predict", json={"instances": X.toarray().tolist()},
                        headers={**key, ANSWER_HEADER: FLOAT64})
    assert packed.status_code == 200 and "probabilities" not in packed.json()
    assert np.array_equal(answer_matrix(packed.content), np.asarray(answer["probabilities"]))  # the same bits
    wrong = httpx.post(f"{server.url}/v1/predict", json={"instances": X.toarray().tolist()},
                       headers={**key, ANSWER_HEADER: "msgpack"})
    assert wrong.status_code == 422 and wrong.json()["detail"] == \
        f"{ANSWER_HEADER}: 'msgpack'; expected one of json, float64"
    with threadpool_limits(cfg.threads):  # as the server trains and answers: BLAS threads change an MLP's bits
        model = defenses.fit_with_defense("mlp", model_params(cfg, cfg.serve.model), cfg.defense,
                                          data.X[data.splits.members], data.y[data.splits.members], cfg.seed, cfg.threads)
        local = answers(model, X)  # as socinf answers CSR records: densified, as the server reads its lists
    assert np.array_equal(np.asarray(answer["probabilities"]), local)  # bit for bit
    assert answer["model_id"] == schema["model_id"]

    split = json.loads((server.dir / "membership_split.json").read_text())
    assert np.array_equal(split["members"], data.splits.members)
    report = json.loads((server.dir / "target_report.json").read_text())
    assert report["train_accuracy"] == pytest.approx(float((model.predict(data.X[data.splits.members]) ==
                                                            data.y[data.splits.members]).mean()))

    def rejected(payload=None, content=None) -> str:
        r = httpx.post(f"{server.url}/v1/predict", json=payload, content=content, headers=key)
        assert r.status_code == 422
        return r.json()["detail"]

    d = len(data.feature_names)
    assert f"list of {d} numbers" in rejected({"instances": [[0, 1]]})
    bad = np.zeros((2, d), int)
    bad[1, 3] = 2
    assert f"feature {data.feature_names[3]!r} is binary" in rejected({"instances": bad.tolist()})
    assert "at most 300 (serve.max_batch)" in rejected({"instances": np.zeros((301, d), int).tolist()})
    too_big = httpx.post(f"{server.url}/v1/predict", json={"instances": np.zeros((300, d)).tolist()}, headers=key)
    assert too_big.status_code == 413 and "serve.max_body_bytes" in too_big.json()["detail"]  # 0.0: > 150,000 B
    assert "not valid JSON" in rejected(content=b"{instances")
    assert server.stats()["rejected"] == 6  # the four above, the 413, and the unknown answer encoding


def test_non_loopback_host_is_not_the_default(tmp_path, shared_data_dir):
    assert ServeConfig().host == "127.0.0.1" and compose([]).serve.host == "127.0.0.1"
    proc = socinf(["serve", "serve.host=0.0.0.0", f"hydra.run.dir={tmp_path}"], tmp_path, shared_data_dir)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("socinf: error: serve.host=0.0.0.0: serving beyond loopback")


def test_rate_limit_and_rounding_on_a_live_api(root, shared_data_dir, tmp_path):
    cfg = compose(FAST + common(root, shared_data_dir) + [f"data.root={tmp_path}", "serve.rate_limit=2",
                                                          "defense=round", "defense.digits=2", f"serve.api_key={KEY}",
                                                          "serve.model=logistic"])  # quick to train
    served = build_served_model(cfg, tmp_path)
    server = uvicorn.Server(uvicorn.Config(create_app(served, cfg.serve), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = "http://127.0.0.1:%d" % server.servers[0].sockets[0].getsockname()[1]
    try:
        rows = {"instances": np.zeros((3, served.n_features), int).tolist()}
        answers = [httpx.post(f"{url}/v1/predict", json=rows, headers={"X-API-Key": KEY}) for _ in range(4)]
        throttled = [a for a in answers if a.status_code == 429]
        assert throttled and all(a.headers["Retry-After"] == "1" for a in throttled)
        probs = np.asarray(answers[0].json()["probabilities"])
        assert np.array_equal(probs, np.round(probs, 2))

        client = RemoteTarget(url, KEY, batch_size=50, timeout_s=10, max_retries=4, backoff_s=0.01)
        client.connect()
        X = np.eye(served.n_features, dtype=np.uint8)[:150]  # 3 batches at 2 requests/s: throttled, retried
        got = client.predict_proba(X)
        assert client.retries >= 1 and np.array_equal(got, served.predict(X))  # rounded rows accepted as they are
        assert not np.allclose(got.sum(axis=1), 1, atol=1e-9, rtol=0)
        client.close()
    finally:
        server.should_exit = True
        thread.join(10)


# ------------------------------------------------------------------ client errors and retries

def test_wrong_key_is_a_clear_error(root, shared_data_dir, tmp_path, server):
    cfg = remote_cfg(root, shared_data_dir, tmp_path, server.url, server.dir, "target.api_key=wrong")
    with pytest.raises(RemoteTargetError, match=rf"GET {server.url}/v1/schema: HTTP 401, the API key was refused"):
        run_audit(cfg, tmp_path / "run")


def test_server_dir_must_be_given_and_match(root, shared_data_dir, tmp_path, server, prepared):
    cfg = remote_cfg(root, shared_data_dir, tmp_path, server.url, server.dir, "target.server_dir=null")
    with pytest.raises(ConfigError, match="target.server_dir=null"):
        with open_remote_target(cfg, prepared[1], "k"):
            pass
    other = remote_cfg(root, shared_data_dir, tmp_path, server.url, server.dir, "seed=1")
    with pytest.raises(ConfigError, match=r"the server's data differs from this run's \(seed: server 0, run 1\)"):
        with open_remote_target(other, prepared[1], "k"):
            pass


def test_two_500s_then_answers_run_succeeds(root, shared_data_dir, tmp_path, server, proxy_factory):
    proxy = proxy_factory(server.url, script=[(500, {}), (500, {})])
    before = server.stats()["records"]
    cfg = remote_cfg(root, shared_data_dir, tmp_path, proxy.url, server.dir, "target.backoff_s=0.01")
    result = run_audit(cfg, tmp_path / "run")
    assert result["complete"] and KEY not in (tmp_path / "run" / "metrics.json").read_text()  # key masked
    assert [status for _, status in proxy.log[:3]] == [500, 500, 200]
    q = result["queries"]
    assert q["retries"] == 2 and q["sent"] == server.stats()["records"] - before == proxy.forwarded_records


def test_429_retry_after_is_honoured(root, shared_data_dir, tmp_path, server, proxy_factory):
    proxy = proxy_factory(server.url, script=[(429, {"Retry-After": "1"})])
    cfg = remote_cfg(root, shared_data_dir, tmp_path, proxy.url, server.dir, "target.backoff_s=0.01")
    result = run_audit(cfg, tmp_path / "run")
    (t429, s429), (t_next, s_next) = proxy.log[:2]
    assert (s429, s_next) == (429, 200) and t_next - t429 >= 1.0  # backoff_s alone would wait ~10 ms
    assert result["queries"]["retries"] == 1


def answer_matrix(body: bytes) -> np.ndarray:
    """The probabilities of a predict answer, in either answer encoding."""
    payload = json.loads(body)
    return decode_float64_answer(payload) if "probabilities_float64" in payload else np.asarray(payload["probabilities"])


def with_matrix(body: bytes, probs: np.ndarray) -> bytes:
    """``body`` answering ``probs`` instead, in the encoding it was written in."""
    payload = json.loads(body)
    return encode_answer(probs, payload["classes"], payload["model_id"],
                         FLOAT64 if "probabilities_float64" in payload else "json")


@pytest.mark.parametrize("offer_float64", [True, False], ids=["float64", "json"])
@pytest.mark.parametrize("mutate,problem", [
    (lambda body: body[:len(body) // 2], "not valid JSON"),
    (lambda body: with_matrix(body, answer_matrix(body)[:-1]),
     r"shape \[19, 4\] for the 20 records asked; expected \(20, 4\)"),
    (lambda body: with_matrix(body, answer_matrix(body) * 0.5), "sum to 0.5, not 1"),
    (lambda body: json.dumps({**json.loads(body), "classes": ["a", "b", "c", "d"]}).encode(), "unknown or reordered"),
], ids=["invalid-json", "wrong-shape", "not-summing-to-1", "unknown-classes"])
def test_malformed_answer_is_a_clear_error_and_not_cached(root, shared_data_dir, tmp_path, server, prepared,
                                                          proxy_factory, mutate, problem, offer_float64):
    proxy = proxy_factory(server.url, mutate=mutate, offer_float64=offer_float64)
    assert_refused_and_not_cached(proxy, root, shared_data_dir, tmp_path, server, prepared, rf".*{problem}")


def assert_refused_and_not_cached(proxy, root, shared_data_dir, tmp_path, server, prepared, problem: str) -> None:
    """20 records asked through ``proxy``: the answer is refused in one RemoteTargetError line matching
    ``problem`` after the endpoint, and nothing is cached."""
    cfg = remote_cfg(root, shared_data_dir, tmp_path, proxy.url, server.dir)
    data = prepared[1]
    with open_remote_target(cfg, data, "k") as opened:
        with pytest.raises(RemoteTargetError, match=rf"POST {proxy.url}/v1/predict: {problem}"):
            opened.target.predict_proba(data.X[data.splits.attacker[:20]])
    assert cached_answers(cfg) == 0


def test_killed_server_rerun_resumes_from_cache_without_paying_twice(root, shared_data_dir, tmp_path, server,
                                                                     proxy_factory):
    doomed = start_server(tmp_path / "doomed", FAST + common(root, shared_data_dir) + [f"data.root={tmp_path}/sd"],
                          shared_data_dir)

    def kill_after_two(proxy):
        if proxy.forwarded_records == 100:
            doomed.process.kill()
            doomed.process.wait()

    proxy = proxy_factory(doomed.url, after_forward=kill_after_two)
    options = ("target.batch_size=50", "target.max_retries=2", "target.backoff_s=0.01")
    first = remote_cfg(root, shared_data_dir, tmp_path, proxy.url, doomed.dir, *options)
    try:
        with pytest.raises(RemoteTargetError, match=rf"POST {proxy.url}/v1/predict: gave up after 3 attempts"):
            run_audit(first, tmp_path / "first")
    finally:
        doomed.stop()
    paid = cached_answers(first)
    assert paid == proxy.forwarded_records == 100  # every answered batch was committed before the kill

    proxy.upstream = server.url  # the service is back (same model), behind the same endpoint
    before = server.stats()["records"]
    second = remote_cfg(root, shared_data_dir, tmp_path, proxy.url, server.dir, *options)
    result = run_audit(second, tmp_path / "second")
    received = server.stats()["records"] - before  # the server's own counter
    q = result["queries"]
    assert result["complete"] and received == q["sent"] < q["total"]
    assert cached_answers(second) - paid == received  # nothing the server received was already cached
    assert q["per_stage"]["synthesis"]["cached"] >= paid


# ------------------------------------------------------------------ the spawned server, as a user runs it

def _gone(pid: int, wait_s: float = 0.0) -> bool:
    """Whether process ``pid`` has exited (a zombie no one has reaped yet counts: it serves nothing)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, FileNotFoundError):
            return True
        if state == "Z":
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def test_run_spawns_serves_and_matches_the_local_target(root, shared_data_dir, tmp_path):
    args = FAST + common(root, shared_data_dir) + ["target=remote", "target.model=logistic", "target.max_queries=5000"]
    proc = socinf(["run", *args, f"hydra.run.dir={tmp_path / 'run'}", f"data.root={tmp_path / 'data'}"],
                  tmp_path, shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    remote = json.loads((tmp_path / "run" / "metrics.json").read_text())
    server_dir = tmp_path / "run" / "server"
    q, stats = remote["queries"], json.loads((server_dir / "stats.json").read_text())
    assert stats["records"] == q["sent"] > 0 and q["budget_left"] == 5000 - q["sent"]
    assert remote["target"]["endpoint"].startswith("http://127.0.0.1:") and not (server_dir / "port.json").exists()
    assert "query budget left" in proc.stdout and str(q["budget_left"]) in proc.stdout

    local = run_audit(compose(FAST + common(root, shared_data_dir) + ["target=logistic", f"data.root={tmp_path}"]),
                      tmp_path / "local")
    assert remote["attack"] == local["attack"]  # the same model over HTTP gives the same answers, to the bit
    for k in ("train_accuracy", "test_accuracy"):
        assert remote["target"][k] == local["target"][k]


def test_budget_stops_before_the_excess_query_and_stops_the_server(root, shared_data_dir, tmp_path):
    args = FAST + common(root, shared_data_dir) + ["target=remote", "target.max_queries=700", "target.batch_size=100"]
    proc = socinf(["run", *args, f"hydra.run.dir={tmp_path / 'run'}", f"data.root={tmp_path / 'data'}"],
                  tmp_path, shared_data_dir)
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("socinf: error: target.max_queries=700: the next batch of")
    assert "spent so far: synthesis=600, evaluation=100" in line
    stats = json.loads((tmp_path / "run" / "server" / "stats.json").read_text())  # written by the stopped server
    assert stats["records"] == 700 and not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_ctrl_c_or_kill_of_the_client_stops_the_spawned_server(root, shared_data_dir, tmp_path, how):
    """Ctrl-C stops the server the run spawned; so does kill -9 of the run, which cannot stop anything itself:
    the server sees its parent go (``serve.exit_with_parent``; its parent is the run's forkserver, which exits
    with the run) and shuts down, writing its counters."""
    args = FAST + common(root, shared_data_dir) + ["target=remote", "mimic.epochs=400", "cache.enabled=false",  # synthesis queries every time
                                                   f"hydra.run.dir={tmp_path}/run",
                                                   f"data.root={tmp_path / 'data'}"]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}, "SOCINF_API_KEY": KEY}
    client = subprocess.Popen([sys.executable, "-m", "socinf_cli", "run", *args], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = tmp_path / "run" / "server" / "port.json"
    try:
        deadline = time.monotonic() + 120
        while True:  # wait until the server has answered the synthesis queries (the GAN is training then)
            assert client.poll() is None and time.monotonic() < deadline
            if port_file.exists():
                info = json.loads(port_file.read_text())
                stats = httpx.get(f"{info['url']}/v1/stats", headers={"X-API-Key": KEY}).json()
                if stats["records"] >= 600:
                    break
            time.sleep(0.1)
        client.send_signal(how)
        client.wait(30)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode != 0
    assert _gone(info["pid"], wait_s=15 if how == signal.SIGKILL else 0)
    assert (tmp_path / "run" / "server" / "stats.json").exists()


@pytest.mark.parametrize("mutate,problem", [
    (lambda body: json.dumps({**json.loads(body), "probabilities_float64": "@@@@"}).encode(),
     "probabilities_float64 is not valid base64"),
    (lambda body: json.dumps({**json.loads(body), "shape": [21, 4]}).encode(),
     r"probabilities_float64 holds 640 bytes; shape \[21, 4\] needs 672"),
    (lambda body: json.dumps({**json.loads(body), "shape": "20x4"}).encode(), r"shape='20x4'; expected \[rows, classes\]"),
], ids=["bad-base64", "bytes-short-of-shape", "shape-not-a-pair"])
def test_malformed_float64_answer_is_one_line(root, shared_data_dir, tmp_path, server, prepared, proxy_factory,
                                              mutate, problem):
    proxy = proxy_factory(server.url, mutate=mutate)
    assert_refused_and_not_cached(proxy, root, shared_data_dir, tmp_path, server, prepared, problem)
