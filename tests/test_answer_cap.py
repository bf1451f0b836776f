"""Issue 20 (Why 10): a 300 MB answer to 10 records was read in full and accepted: answers had no size cap. The
client now caps an answer by rows x classes and refuses a longer one unread, without retrying it. A real HTTP
server on 127.0.0.1 streams the answer (it never holds 300 MB either)."""
from __future__ import annotations

import http.server
import json
import time
from pathlib import Path

import numpy as np
import pytest

from loopback import LoopbackHTTP, made_then_stopped


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


class Padded(http.server.BaseHTTPRequestHandler):
    """Answers 10 valid probability rows padded with ``pad`` MB of spaces (valid JSON), streamed in chunks."""

    protocol_version = "HTTP/1.1"
    pad, declare, posts = 300, True, 0

    def do_GET(self):
        body = json.dumps({"model_id": "m", "features": ["a", "b"], "classes": ["x", "y"]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        type(self).posts += 1
        n = len(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instances"])
        head = json.dumps({"probabilities": [[0.5, 0.5]] * n, "classes": ["x", "y"], "model_id": "m"})[:-1].encode()
        chunk, total = b" " * (1 << 20), self.pad * (1 << 20)
        self.send_response(200)
        if self.declare:
            self.send_header("Content-Length", str(len(head) + total + 1))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(head)
            for _ in range(self.pad):
                self.wfile.write(chunk)
            self.wfile.write(b"}")
        except OSError:
            pass  # the client hung up, as it should

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback():
    yield from made_then_stopped(LoopbackHTTP)


@pytest.mark.parametrize("declare", [True, False])
def test_a_300_mb_answer_to_10_records_is_refused_unread(declare, loopback):
    from socinf.errors import RemoteTargetError
    from socinf.targets.remote_client import RemoteTarget

    handler = type("Padded", (Padded,), {"declare": declare, "posts": 0})
    api = loopback(handler)
    client = RemoteTarget(api.url, max_retries=3, backoff_s=0.01)
    client.connect()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM: the peak from here on
    before, start = _peak_mb(), time.monotonic()
    with pytest.raises(RemoteTargetError, match=r"the answer is .*bytes.*refused unread") as err:
        client.predict_proba(np.zeros((10, 2)))
    assert _peak_mb() - before < 50, f"the client held {_peak_mb() - before:.0f} MB of a refused answer"
    assert time.monotonic() - start < 10 and handler.posts == 1  # not retried
    client.close()


def test_an_answer_of_the_right_size_still_passes(loopback):
    from socinf.targets.remote_client import RemoteTarget

    api = loopback(type("Padded", (Padded,), {"pad": 0, "posts": 0}))
    client = RemoteTarget(api.url, max_retries=0)
    client.connect()
    assert client.predict_proba(np.zeros((10, 2))).shape == (10, 2)
    client.close()
