"""Issue #11 hardening, defect 2: the query budget holds across processes, retries and slow or lying servers.

Every fault comes from a real HTTP server on 127.0.0.1 (a tiny threaded ``http.server`` that bills the records
it answers), or a real `socinf serve`; the client is the real ``RemoteTarget``.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import httpx
import numpy as np
import pytest
import uvicorn

from socinf.attacks.base import AttackContext, AttackerKnowledge
from socinf.attacks.socinf import SocInf
from socinf.errors import ConfigError, QueryBudgetExceeded, RemoteTargetError
from socinf.serve.app import create_app
from socinf.serve.model import ServedModel, input_schema
from socinf.targets.base import CountingTarget
from socinf.targets.query_cache import QueryCache
from socinf.targets.remote_client import RemoteTarget
from socinf.serve.config import ServeConfig
from loopback import LoopbackHTTP, made_then_stopped

D, CLASSES = 6, ["a", "b"]


def _uniform(X):
    return [[0.7, 0.3] if x[0] else [0.2, 0.8] for x in X]


@dataclass
class FakeAPI:
    """A prediction API that bills every record it answers (``billed``); knobs for slowness and lies."""

    delay_s: float = 0.0  # before answering a predict
    drip: bool = False  # send the answer one byte per second
    idempotent: bool = False  # dedupe Idempotency-Key (and say so in the schema)
    schema_extra: dict = field(default_factory=dict)
    answer: object = _uniform  # rows -> probabilities (any JSON)
    classes: list = field(default_factory=lambda: list(CLASSES))
    billed: int = 0
    keys: list = field(default_factory=list)
    seen: dict = field(default_factory=dict)

    def __post_init__(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, body: bytes):
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                        ).encode()
                try:
                    if api.drip:
                        for byte in head + body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(1.0)
                    else:
                        self.wfile.write(head + body)
                except OSError:
                    pass

            def do_GET(self):
                schema = {"model_id": "fake-1", "features": [f"f{i}" for i in range(D)], "classes": api.classes,
                          "max_batch": 4096, **({"idempotency": True} if api.idempotent else {}), **api.schema_extra}
                self.send(json.dumps(schema).encode())

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers.get("Idempotency-Key")
                api.keys.append(key)
                rows = json.loads(body)["instances"]
                if not (api.idempotent and key in api.seen):  # a replay is answered at once, unbilled
                    api.billed += len(rows)
                    api.seen[key] = api.answer(rows)
                    time.sleep(api.delay_s)
                self.send(json.dumps({"probabilities": api.seen[key], "classes": api.classes,
                                      "model_id": "fake-1"}).encode())

        self.http = LoopbackHTTP(Handler)
        self.port, self.url, self.close = self.http.port, self.http.url, self.http.close


@pytest.fixture
def fake():
    yield from made_then_stopped(FakeAPI)


def _unique_rows(n: int, seed: int) -> np.ndarray:
    """``n`` distinct binary records, distinct from those of other seeds (the binary digits of their ids)."""
    ids = np.arange(n) + seed * n
    assert ids[-1] < 2 ** D
    return ((ids[:, None] >> np.arange(D)) & 1).astype(float)


def client(url: str, db: QueryCache | None, **kw) -> RemoteTarget:
    kw = {"batch_size": 16, "max_retries": 0, "backoff_s": 0.01, **kw}
    target = RemoteTarget(url, ledger=db, cache=kw.pop("cache", db), **kw)
    target.connect()
    return target


def test_budget_is_the_total_across_processes_and_reruns(tmp_path, fake):
    api = fake()
    db_path = tmp_path / "queries.sqlite"
    with QueryCache(db_path) as db:  # run 1 spends 32 of 40
        client(api.url, db, max_queries=40).predict_proba(_unique_rows(32, 0))
    with QueryCache(db_path) as db:  # run 2 (a new process, same data root): new records, 8 left
        second = client(api.url, db, max_queries=40)
        with pytest.raises(QueryBudgetExceeded, match=r"max_queries=40: the next batch of 16 .* to 48 "
                                                      r"\(charged before, all runs and attempts: 32"):
            second.predict_proba(_unique_rows(32, 1))
    assert api.billed == 32  # nothing past the budget reached the server


def test_timeout_then_retries_to_a_billing_server_never_pass_the_budget(tmp_path, fake):
    api = fake(delay_s=1.5)
    with QueryCache(tmp_path / "q.sqlite") as db:
        slow = client(api.url, db, max_queries=50, batch_size=32, timeout_s=0.5, max_retries=2)
        with pytest.raises(QueryBudgetExceeded, match="next batch of 32"):
            slow.predict_proba(_unique_rows(32, 0))
        assert db.spent(slow.scope) == 32  # the lost answer stays charged
    time.sleep(1.2)  # let the server finish the request it was billed for
    assert api.billed <= 50 and api.billed == 32
    assert len(set(api.keys)) == 1 and api.keys[0]  # one Idempotency-Key, the batch's


def test_retry_to_an_idempotent_server_is_answered_without_a_second_charge(tmp_path, fake):
    api = fake(delay_s=0.8, idempotent=True)
    with QueryCache(tmp_path / "q.sqlite") as db:
        slow = client(api.url, db, max_queries=40, batch_size=32, timeout_s=0.3, max_retries=3, backoff_s=0.5)
        probs = slow.predict_proba(_unique_rows(32, 0))
        assert probs.shape == (32, 2) and db.spent(slow.scope) == 32 and slow.retries >= 1
    assert api.billed == 32


def test_server_dripping_one_byte_a_second_hits_the_overall_deadline(fake):
    api = fake(drip=True)
    start = time.monotonic()
    with pytest.raises(RemoteTargetError, match="deadline_s=1.5"):
        RemoteTarget(api.url, timeout_s=5, deadline_s=1.5, max_retries=0).connect()
    assert time.monotonic() - start < 4


def test_localhost_and_127_0_0_1_share_answers_and_budget(tmp_path, fake):
    api = fake()
    with QueryCache(tmp_path / "q.sqlite") as db:
        client(f"http://localhost:{api.port}/", db, max_queries=20).predict_proba(_unique_rows(16, 0))
        again = client(f"HTTP://127.0.0.1:{api.port}", db, max_queries=20)
        again.predict_proba(_unique_rows(16, 0))
        assert again.records_sent == 0 and api.billed == 16
        assert again.spent_total() == 16


@pytest.mark.parametrize("extra, problem", [
    ({"max_batch": "abc"}, r"max_batch='abc' in the schema; expected a number >= 1"),
    ({"output": {"row_sum_max": "x"}}, r"output.row_sum_max='x'"),
])
def test_lying_schema_is_one_line(fake, extra, problem):
    api = fake(schema_extra=extra)
    with pytest.raises(RemoteTargetError, match=problem):
        RemoteTarget(api.url, max_retries=0).connect()


@pytest.mark.parametrize("answer, schema, problem", [
    (lambda X: [["0.7", "0.3"] for _ in X], {}, "not a numeric matrix"),
    (lambda X: [[1.0, 1.0] for _ in X], {"output": {"row_sum_min": 0, "row_sum_max": 2}}, "sum to 2"),
    (lambda X: [[1.5, 0.0] for _ in X], {"output": {"row_sum_min": 0, "row_sum_max": 2}}, r"in \[0, 1\]"),
    (lambda X: [[0.66, 0.36] for _ in X], {"output": {"round_digits": 2, "row_sum_max": 1.01}}, "sum to 1.02"),
])
def test_lying_answers_are_refused_and_not_cached(tmp_path, fake, answer, schema, problem):
    api = fake(answer=answer, schema_extra=schema)
    with QueryCache(tmp_path / "q.sqlite") as db:
        with pytest.raises(RemoteTargetError, match=problem):
            client(api.url, db).predict_proba(_unique_rows(4, 0))
        assert db.count() == 0


def test_rounded_answers_within_their_slack_are_accepted(tmp_path, fake):
    api = fake(answer=lambda X: [[0.56, 0.45] for _ in X], schema_extra={"output": {"round_digits": 2,
                                                                                   "row_sum_max": 1.01}})
    with QueryCache(tmp_path / "q.sqlite") as db:
        assert client(api.url, db).predict_proba(_unique_rows(4, 0)).sum(1) == pytest.approx([1.01] * 4)


def test_budget_message_says_cached_only_when_answers_are_cached(tmp_path, fake):
    api = fake()
    with QueryCache(tmp_path / "q.sqlite") as db:
        uncached = client(api.url, db, max_queries=8, cache=None)
        with pytest.raises(QueryBudgetExceeded) as err:
            uncached.predict_proba(_unique_rows(16, 0))
        assert "cached" not in err.value.args[0].replace("query_cache", "") and "a rerun pays again" in str(err.value)
        assert db.count() == 0


def test_constant_answers_give_an_honest_chance_result_not_a_crash(fake):
    api = fake(answer=lambda X: [[0.4, 0.3, 0.3] for _ in X], classes=["a", "b", "c"])
    remote = RemoteTarget(api.url, max_retries=0)
    remote.connect()
    rng = np.random.default_rng(0)
    X_aux = rng.integers(0, 2, (120, D)).astype(np.uint8)
    knowledge = AttackerKnowledge(X_aux, np.arange(120) % 3, 3, D)
    attack = SocInf(synthesis={"name": "population"}, mimic={"epochs": 2})
    report = attack.fit(CountingTarget(remote, 3, D), knowledge, AttackContext(seed=0))  # was ZeroDivisionError
    assert report["mimic"]["n_train"] == 0 and "skipped" in report["mimic"]
    scores = attack.score(np.full((10, 3), 1 / 3), np.zeros(10, int))
    assert np.unique(scores).size == 1  # no signal: one score for everyone (AUC 0.5)


def test_socinf_serve_answers_a_repeated_idempotency_key_without_billing(tmp_path):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (200, D)).astype(float)
    model = LogisticRegression().fit(X, X[:, 0].astype(int))
    schema, binary = input_schema(X, [f"f{i}" for i in range(D)], CLASSES, "m1", 64, 1 << 20, (1.0, 1.0), None)
    app = create_app(ServedModel("m1", model, schema, binary), ServeConfig(port=0))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        body = json.dumps({"instances": X[:10].tolist()})
        headers = {"Idempotency-Key": "k1", "Content-Type": "application/json"}
        first = httpx.post(f"{url}/v1/predict", content=body, headers=headers)
        again = httpx.post(f"{url}/v1/predict", content=body, headers=headers)
        other = httpx.post(f"{url}/v1/predict", content=json.dumps({"instances": X[10:12].tolist()}), headers=headers)
        stats = httpx.get(f"{url}/v1/stats").json()
        assert first.content == again.content and other.status_code == 200
        assert stats["records"] == 12 and stats["replayed"] == 1  # the same key with another body is billed
    finally:
        server.should_exit = True
        thread.join(10)


def test_corrupt_query_cache_is_one_line_with_the_fix(tmp_path):
    path = tmp_path / "queries.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="delete the file .* or point data.root elsewhere"):
        QueryCache(path)
