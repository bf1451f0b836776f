"""Issue 20 (Why 2): an API key with a trailing newline was written in plain text to stderr, failed.json and
run.log, and `socinf report` copied it into missing.md, missing.csv and runs.csv; the run retried that local
error 7 times. Real `socinf run` / `socinf report` processes, a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import http.server
import json
from pathlib import Path

import pytest

from loopback import LoopbackHTTP, made_then_stopped
from socinf_runner import socinf

SMALL = ["dataset.per_class=100", "eval.size=40", "synthesis.n_records=200", "synthesis.burn_in=20", "mimic.epochs=2",
         "method.baselines=false", "threads=1"]
CORE = "k3y-0f-the-secrets-test-8812"  # what a grep looks for: the key without its stray whitespace


@pytest.fixture
def loopback():
    yield from made_then_stopped(LoopbackHTTP)


def _files_holding(root: Path, text: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


@pytest.mark.parametrize("key, spawned", [(CORE + "\n", True), (CORE[:10] + "\t" + CORE[10:], False)])
def test_a_malformed_key_is_one_line_that_does_not_quote_it_and_nothing_is_sent(key, spawned, tmp_path,
                                                                              shared_data_dir, loopback):
    """With a spawned `socinf serve` (the review's case) and with a given target.url: the sweep job fails in one
    line naming the key's fingerprint, before any request; no file of the sweep, the data home or the report,
    and no output, holds the key."""
    hits: list[str] = []

    class Api(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.headers.get("X-API-Key", ""))
            self.send_error(500)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    api = loopback(Api)
    sweep = tmp_path / "sweep"
    where = ["target.model=logistic"] if spawned else [f"target.url={api.url}", f"target.server_dir={tmp_path}"]
    proc = socinf(["run", "-m", *SMALL, "target=remote", *where, "seed=0", f"hydra.sweep.dir={sweep}",
                   f"data.root={tmp_path / 'data'}"], tmp_path, shared_data_dir, env_extra={"SOCINF_API_KEY": key})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert hits == []  # refused before any request: nothing to retry
    assert "target.api_key=<key sha256:" in proc.stderr.strip().splitlines()[-1], proc.stderr[-2000:]
    shown = proc.stdout + proc.stderr
    if (sweep / "0" / "failed.json").exists():  # the job ran and failed (else the sweep's check refused it)
        failure = json.loads((sweep / "0" / "failed.json").read_text())["error"]
        assert failure.startswith("target.api_key=<key sha256:") and "character" in failure, failure
        report = socinf(["report", str(sweep)], tmp_path, None)
        assert report.returncode == 0, report.stderr[-2000:]
        assert {"missing.md", "missing.csv", "runs.csv"} <= {p.name for p in (sweep / "report").iterdir()}
        shown += report.stdout + report.stderr
    for text in (CORE, CORE[:10]):
        assert text not in shown
        assert _files_holding(tmp_path, text) == []  # the sweep, its report, the data home


def test_a_server_echoing_the_key_in_its_error_is_scrubbed(loopback):
    """A prediction API that quotes the request's headers in its error detail: the client's message (what
    failed.json and the log would get) shows the key's fingerprint, never the key."""
    from socinf.errors import RemoteTargetError
    from socinf.secrets import fingerprint
    from socinf.targets.remote_client import RemoteTarget

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"detail": f"bad request, headers were {dict(self.headers)!r}"}).encode()
            self.send_response(400)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    api = loopback(Echo)
    with pytest.raises(RemoteTargetError) as err:
        RemoteTarget(api.url, CORE, max_retries=0).connect()
    assert CORE not in str(err.value) and fingerprint(CORE) in str(err.value), str(err.value)
