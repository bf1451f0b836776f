"""Issue 20 (Why 3): a ledger holding 1412 of max_queries=1500 for http://127.0.0.1:PORT let the same command
bill 1038 more through http://127.1:PORT; 2130706433, 0x7f000001, a trailing /. and [::ffff:127.0.0.1] did the
same. The budget now follows the server: every spelling below reaches the one billing server on 127.0.0.1 and
is charged to one ledger entry."""
from __future__ import annotations

import http.server
import json

import numpy as np
import pytest

from loopback import LoopbackHTTP

SPELLINGS = ["http://127.0.0.1:{port}", "http://127.1:{port}", "http://2130706433:{port}", "http://0x7f000001:{port}",
             "http://127.0.0.1:{port}/.", "http://[::ffff:127.0.0.1]:{port}", "http://[::ffff:7f00:1]:{port}",
             "http://0.0.0.0:{port}", "HTTP://LOCALHOST:{port}//", "http://127.0.0.1:{port}/./", "http://127.0.1:{port}"]


class Billing(http.server.BaseHTTPRequestHandler):
    """A prediction API that bills every record it answers."""

    billed = 0
    protocol_version = "HTTP/1.1"

    def _send(self, obj) -> None:
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send({"model_id": "billing-1", "features": [f"f{i}" for i in range(4)], "classes": ["a", "b"]})

    def do_POST(self):
        rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instances"]
        type(self).billed += len(rows)
        self._send({"probabilities": [[0.6, 0.4]] * len(rows), "classes": ["a", "b"], "model_id": "billing-1"})

    def log_message(self, *args):
        pass


@pytest.fixture
def billing():
    handler = type("Billing", (Billing,), {"billed": 0})
    server = LoopbackHTTP(handler)
    yield server, handler
    server.close()


def test_every_spelling_of_one_server_shares_one_budget(billing, tmp_path):
    from socinf.errors import QueryBudgetExceeded
    from socinf.targets.query_cache import QueryCache
    from socinf.targets.remote_client import RemoteTarget

    server, handler = billing
    rng = np.random.default_rng(0)
    outcomes = []
    with QueryCache(tmp_path / "queries.sqlite") as ledger:
        for spelling in SPELLINGS:
            client = RemoteTarget(spelling.format(port=server.port), ledger=ledger, max_queries=300, batch_size=100,
                                  max_retries=0)
            try:
                client.connect()
                client.predict_proba(rng.random((100, 4)))  # 100 new records each time: no cache to lean on
                outcomes.append("answered")
            except QueryBudgetExceeded:
                outcomes.append("refused")
            finally:
                client.close()
    assert handler.billed == 300, (handler.billed, dict(zip(SPELLINGS, outcomes)))
    assert outcomes == ["answered"] * 3 + ["refused"] * (len(SPELLINGS) - 3)


@pytest.mark.parametrize("url, same_as", [
    ("http://127.1:8000", "http://127.0.0.1:8000"), ("http://[::ffff:127.0.0.1]:8000", "http://127.0.0.1:8000"),
    ("http://Example.COM.:80/api/./v1/", "http://example.com/api/v1"), ("https://example.com:443/", "https://example.com"),
    ("http://[0:0:0:0:0:0:0:1]:9", "http://localhost.:9"), ("http://0177.0.0.1:9", "http://127.0.0.1:9"), ("http://10.0.0.1:80/a/../b", "http://10.0.0.1/b"),
])
def test_spellings_of_one_endpoint_normalise_alike(url, same_as):
    from socinf.targets.query_cache import normalise_url

    assert normalise_url(url) == normalise_url(same_as)


@pytest.mark.parametrize("url, other", [("http://127.0.0.1:8000", "http://127.0.0.1:8001"),
                                        ("http://example.com/a", "http://example.com/b"),
                                        ("http://10.0.0.1:80", "http://10.0.0.2:80"),
                                        ("http://example.com", "https://example.com")])
def test_other_endpoints_stay_apart(url, other):
    from socinf.targets.query_cache import normalise_url

    assert normalise_url(url) != normalise_url(other)
