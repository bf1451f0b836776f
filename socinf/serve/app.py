"""`socinf serve`: a small prediction API, our stand-in for an ML-as-a-service platform (paper IV.B.1).

Routes: ``GET /healthz`` (no key), ``GET /v1/schema`` (the input format and
classes), ``POST /v1/predict`` (``{"instances": [[...], ...]}``, an instance
also as ``{"indices": [...], "values": [...]}`` (``socinf.targets.codec``) ->
``{"probabilities", "classes", "model_id"}``) and ``GET /v1/stats`` (the
server's own request counter). Everything but ``/healthz`` needs the API key
when ``serve.api_key`` is set. Nothing about membership is served: the split
stays in the run dir.

Bounded (``socinf.serve.limits``): bodies over ``serve.max_body_bytes`` get 413
before any parsing, hostile JSON 422 (never 500), big bodies are parsed off
the event loop, failed keys are rate-limited per client address, a repeated
``Idempotency-Key`` is answered again without billing, and uvicorn runs with
a connection limit, a keep-alive timeout and a request-head timeout.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from socinf.io import atomic_write_json
from socinf.serve.config import ServeConfig
from socinf.serve.guard import InputError, RequestGuard, ServerStats, error  # noqa: F401 - ServerStats re-exported
from socinf.serve.limits import BoundedH11Protocol, InFlightLimit, open_connection_limit, scan_json
from socinf.serve.model import ServedModel
from socinf.settings import settings_from
from socinf.sparse import first_entry, values
from socinf.targets.codec import (ANSWER_ENCODINGS, ANSWER_HEADER, decode_compact_instances, decode_sparse_instances,
                                  encode_answer)

log = logging.getLogger("socinf.serve")
STATS_FILE = "stats.json"
FLOAT32_MAX = float(np.finfo(np.float32).max)
PARSE_INLINE_BYTES = 256 * 1024  # smaller bodies are parsed on the event loop (a thread hop costs more)


def parse_instances(body: bytes, served: ServedModel, max_batch: int):
    """The records of a predict body: a dense array, or CSR when some instance uses the sparse encoding
    (``socinf.targets.codec``); ``InputError`` (422) naming the first fault."""
    d = served.n_features
    X = decode_compact_instances(body, d)
    if X is None:
        problem = scan_json(body, max_batch * d)  # a sparse instance: two numbers a non-zero (sent when smaller)
        if problem:
            raise InputError(problem)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InputError(f"the body is not valid JSON ({exc})") from None
        instances = payload.get("instances") if isinstance(payload, dict) else None
        if not isinstance(instances, list) or not instances:
            raise InputError('expected a JSON object {"instances": [[...], ...]} with at least one record')
        if len(instances) > max_batch:
            raise InputError(f"{len(instances)} instances in one request; at most {max_batch} (serve.max_batch)")
        X = _instances(instances, d)
    if X.shape[0] > max_batch:
        raise InputError(f"{X.shape[0]} instances in one request; at most {max_batch} (serve.max_batch)")
    if X.ndim != 2 or X.shape[1] != d:
        raise InputError(f"every instance must be a list of {d} numbers; got an array of shape {list(X.shape)}")
    _check_values(X, served)
    return X


def _instances(instances: list, d: int):
    """Parsed instances as a dense array (every one a list) or CSR (some use the sparse encoding)."""
    if any(isinstance(item, dict) for item in instances):
        try:
            return decode_sparse_instances(instances, d)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    try:
        X = np.asarray(instances)
    except (ValueError, TypeError):
        X = None
    if X is None or X.dtype.kind not in "iuf":  # strings, booleans, nulls, ragged rows: not JSON numbers
        raise InputError(f"every instance must be a list of {d} numbers")
    return X.astype(np.float64)


def answer_encoding(asked: str | None) -> str:
    """The answer encoding a request asks for (header ``ANSWER_HEADER``; JSON numbers when absent)."""
    encoding = ANSWER_ENCODINGS[0] if asked is None else asked.strip().lower()
    if encoding not in ANSWER_ENCODINGS:
        raise InputError(f"{ANSWER_HEADER}: {asked[:40]!r}; expected one of {', '.join(ANSWER_ENCODINGS)}")
    return encoding


def _check_values(X, served: ServedModel) -> None:
    """Finite numbers within float32's range, and 0 or 1 in every binary feature."""
    if not np.isfinite(values(X)).all():
        raise InputError("instances must hold finite numbers (no NaN or infinity)")
    names = [f["name"] for f in served.schema["features"]]
    beyond = first_entry(X, lambda v: np.abs(v) > FLOAT32_MAX)  # the model computes in float32: 1e300 -> inf
    if beyond is not None:
        row, col, value = beyond
        raise InputError(f"instance {row}, feature {names[col]!r}: {value:g} is beyond float32's range "
                         f"(|x| <= {FLOAT32_MAX:.4g}), in which the model computes")
    not_binary = first_entry(X, lambda v: (v != 0) & (v != 1), served.binary_columns)
    if not_binary is not None:
        row, col, value = not_binary
        raise InputError(f"instance {row}, feature {names[col]!r} is binary: allowed 0 or 1, got {value:g}")


def create_app(served: ServedModel, serve_cfg, stats_file: Path | None = None):
    """The API's routes; every check before a route answers is ``RequestGuard``'s."""
    # Read once into a plain ServeConfig: a Hydra node resolves ``api_key: ${oc.env:SOCINF_API_KEY,null}`` again on
    # every access (1.5 ms each, measured: the key check took 0.3 s of 200 requests' time and cost ~13% throughput)
    serve_cfg = check_serve_config(serve_cfg)
    guard = RequestGuard(serve_cfg, served.n_features)
    stats = guard.stats
    app = FastAPI(title="socinf serve", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=_lifespan(serve_cfg.exit_with_parent, stats, stats_file))
    app.add_middleware(InFlightLimit, limit=serve_cfg.max_connections, exempt=("/healthz",))
    app.state.stats = stats

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/v1/schema")
    async def schema(request: Request):
        return guard.unauthorized(request) or served.schema

    @app.get("/v1/stats")
    async def get_stats(request: Request):
        return guard.unauthorized(request) or asdict(stats)

    @app.post("/v1/predict")
    async def predict(request: Request):
        stats.predict_requests += 1
        denied = guard.unauthorized(request)
        if denied is not None:
            stats.rejected += 1
            return denied
        try:
            body = guard.throttled() or await guard.body_or_error(request)
            if not isinstance(body, bytearray):
                return body
            encoding = answer_encoding(request.headers.get(ANSWER_HEADER))
            key = request.headers.get("idempotency-key")  # a replay answers in the encoding asked for
            answer = await guard.once(key and f"{key}|{encoding}", body, lambda: answer_body(body, encoding))
        except InputError as exc:
            stats.rejected += 1
            return error(422, str(exc))
        finally:
            guard.release(request)  # the body's bytes leave serve.max_inflight_bytes once it is answered
        return Response(answer, media_type="application/json")

    async def answer_body(body: bytes, encoding: str) -> bytes:
        if len(body) > PARSE_INLINE_BYTES:  # parse big bodies off the event loop: /healthz stays responsive
            return await asyncio.to_thread(predict_body, body, encoding)
        return predict_body(body, encoding)

    def predict_body(body: bytes, encoding: str) -> bytes:
        X = parse_instances(body, served, serve_cfg.max_batch)
        probs = served.predict(X)  # inline: for a batch of records a hop to a worker thread costs more than this
        stats.answered_requests += 1
        stats.records += X.shape[0]
        return encode_answer(probs, served.schema["classes"], served.model_id, encoding)

    return app


def _lifespan(exit_with_parent: bool, stats, stats_file: Path | None):
    """Start-up and shutdown: the parent watchdog (a spawned server), the counters saved to ``stats_file``."""

    @asynccontextmanager
    async def lifespan(app):
        watchdog = asyncio.create_task(_watch_parent(app)) if exit_with_parent else None
        yield
        if watchdog:
            watchdog.cancel()
        if stats_file is not None:
            atomic_write_json(stats_file, asdict(stats))

    return lifespan


async def _watch_parent(app) -> None:
    """A server spawned by `socinf run target=remote` stops when its client is gone (even after kill -9): the
    process that started it, which is its parent, or for a server forked from the client's forkserver
    (``socinf_cli.remote_server``) the client that holds the other end of multiprocessing's parent sentinel."""
    import multiprocessing

    client, parent = multiprocessing.parent_process(), os.getppid()
    alive = client.is_alive if client is not None else (lambda: os.getppid() == parent)
    while alive():
        await asyncio.sleep(0.5)
    log.warning("the client process %d is gone; stopping", client.pid if client is not None else parent)
    server = getattr(app.state, "uvicorn_server", None)
    if server is not None:
        server.should_exit = True


def check_serve_config(serve_cfg) -> ServeConfig:
    """The checked ``ServeConfig`` (from it or a mapping of its fields): one ConfigError line otherwise."""
    return settings_from(serve_cfg, ServeConfig, "serve")


def server_config(app, serve_cfg) -> uvicorn.Config:
    """uvicorn's settings that keep the server bounded: open connections (``BoundedH11Protocol``: the idle one
    unused longest is closed beyond ``open_connection_limit``; requests in flight are ``InFlightLimit``'s, so idle
    clients never keep /healthz or a request out), keep-alive, header size and the time to send a request head."""
    protocol = type("BoundedServeH11", (BoundedH11Protocol,),
                    {"header_timeout_s": serve_cfg.header_timeout_s,
                     "max_open": open_connection_limit(serve_cfg.max_connections)})
    return uvicorn.Config(app, host=serve_cfg.host, port=serve_cfg.port, log_level="warning", access_log=False,
                          timeout_graceful_shutdown=5, http=protocol, limit_concurrency=None,
                          timeout_keep_alive=5, h11_max_incomplete_event_size=64 * 1024)  # request line + headers


def run_server(served: ServedModel, serve_cfg, run_dir: Path) -> None:
    """Serve ``served`` with uvicorn until SIGINT / SIGTERM; the port file is written once listening."""
    port_file = Path(serve_cfg.port_file) if serve_cfg.port_file else None
    serve_cfg = check_serve_config(serve_cfg)
    app = create_app(served, serve_cfg, run_dir / STATS_FILE)
    config = server_config(app, serve_cfg)
    server = AnnouncingServer(config, served.model_id, port_file, run_dir.resolve())
    app.state.uvicorn_server = server
    server.run()


class AnnouncingServer(uvicorn.Server):
    """Writes the port file once really listening (``serve.port=0`` -> the port the OS chose)."""

    def __init__(self, config, model_id: str, port_file: Path | None, run_dir: Path):
        super().__init__(config)
        self.model_id, self.port_file, self.run_dir = model_id, port_file, run_dir

    async def startup(self, sockets=None):
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        url = f"http://{host}:{port}"
        if self.port_file is not None:
            atomic_write_json(self.port_file, {"url": url, "host": host, "port": port, "pid": os.getpid(),
                                               "model_id": self.model_id})
        print(f"socinf serve: model {self.model_id} listening on {url} (Ctrl-C to stop); membership split "
              f"for the evaluator: target.server_dir={self.run_dir}", flush=True)

    async def shutdown(self, sockets=None):
        if self.port_file is not None:  # no stale port file pointing at a dead server
            self.port_file.unlink(missing_ok=True)
        await super().shutdown(sockets)
