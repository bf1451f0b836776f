"""`socinf serve`: a small prediction API, our stand-in for an ML-as-a-service platform (paper IV.B.1).

Routes: ``GET /healthz`` (no key), ``GET /v1/schema`` (the input format and
classes), ``POST /v1/predict`` (``{"instances": [[...], ...]}`` ->
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
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from socinf.errors import ConfigError
from socinf.io import atomic_write_json
from socinf.targets.codec import decode_compact_instances
from socinf.serve.limits import BoundedH11Protocol, FailureLimiter, ReplayMemory, TokenBucket, scan_json
from socinf.serve.model import ServedModel

log = logging.getLogger("socinf.serve")
STATS_FILE = "stats.json"


@dataclass
class ServerStats:
    """The server's own counters (``GET /v1/stats``, and ``stats.json`` on shutdown)."""

    predict_requests: int = 0  # POST /v1/predict received, whatever the outcome
    answered_requests: int = 0
    records: int = 0  # records answered (billed): a replayed Idempotency-Key is not counted again
    replayed: int = 0  # requests answered again from the Idempotency-Key memory
    rejected: int = 0  # 401 / 413 / 422
    throttled: int = 0  # 429


class InputError(ValueError):
    """A request the API refuses with 422 and this message."""


class TooLarge(InputError):
    """A body over ``serve.max_body_bytes``: 413, decided before the body is parsed (or read in full)."""


PARSE_INLINE_BYTES = 256 * 1024  # smaller bodies are parsed on the event loop (a thread hop costs more)
BODY_TIMEOUT_S = 60.0  # a request body must arrive within this (a slow body holds no slot for ever)


def parse_instances(body: bytes, served: ServedModel, max_batch: int) -> np.ndarray:
    d = served.n_features
    X = decode_compact_instances(body, d)
    if X is None:
        problem = scan_json(body, max_batch * d)
        if problem:
            raise InputError(problem)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InputError(f"the body is not valid JSON ({exc})") from None
        instances = payload.get("instances") if isinstance(payload, dict) else None
        if not isinstance(instances, list) or not instances:
            raise InputError('expected a JSON object {"instances": [[...], ...]} with at least one record')
        try:
            X = np.asarray(instances)
        except (ValueError, TypeError):
            X = None
        if X is None or X.dtype.kind not in "iuf":  # strings, booleans, nulls, ragged rows: not JSON numbers
            raise InputError(f"every instance must be a list of {d} numbers")
        X = X.astype(np.float64)
    if len(X) > max_batch:
        raise InputError(f"{len(X)} instances in one request; at most {max_batch} (serve.max_batch)")
    if X.ndim != 2 or X.shape[1] != d:
        raise InputError(f"every instance must be a list of {d} numbers; got an array of shape {list(X.shape)}")
    if not np.isfinite(X).all():
        raise InputError("instances must hold finite numbers (no NaN or infinity)")
    block = X[:, served.binary_columns]
    bad = np.argwhere((block != 0) & (block != 1))
    if len(bad):
        row, col = bad[0]
        name = served.schema["features"][served.binary_columns[col]]["name"]
        value = X[row, served.binary_columns[col]]
        raise InputError(f"instance {row}, feature {name!r} is binary: allowed 0 or 1, got {value:g}")
    return X


def create_app(served: ServedModel, serve_cfg, stats_file: Path | None = None):
    stats = ServerStats()
    bucket = TokenBucket(serve_cfg.rate_limit) if serve_cfg.rate_limit else None
    api_key, max_body = serve_cfg.api_key, serve_cfg.max_body_bytes
    replays = ReplayMemory()
    failures = FailureLimiter()  # wrong API keys per client IP

    @asynccontextmanager
    async def lifespan(app):
        watchdog = asyncio.create_task(_watch_parent(app)) if serve_cfg.exit_with_parent else None
        yield
        if watchdog:
            watchdog.cancel()
        if stats_file is not None:
            atomic_write_json(stats_file, asdict(stats))

    app = FastAPI(title="socinf serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.stats = stats

    def error(status: int, message: str, **headers) -> JSONResponse:
        return JSONResponse({"detail": message}, status_code=status, headers=headers or None)

    def unauthorized(request: Request) -> JSONResponse | None:
        """401 for a wrong key; 429 for a client IP that failed too often (checked first: guessing is slow)."""
        if api_key is None:
            return None
        client = request.client.host if request.client else "?"
        wait = failures.blocked_for(client)
        if wait > 0:
            stats.throttled += 1
            return error(429, "too many failed API-key attempts from this address",
                         **{"Retry-After": str(max(1, math.ceil(wait)))})
        given = request.headers.get("x-api-key", "")
        if hmac.compare_digest(given.encode(), api_key.encode()):
            return None
        failures.failed(client)
        return error(401, "missing or wrong API key (header X-API-Key)", **{"WWW-Authenticate": "ApiKey"})

    async def read_body(request: Request) -> bytearray:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            raise TooLarge(f"request body of {declared} bytes; at most {max_body} (serve.max_body_bytes)")
        body = bytearray()  # one growing buffer: no list of chunks joined into a second copy
        async with asyncio.timeout(BODY_TIMEOUT_S):
            async for chunk in request.stream():
                if len(body) + len(chunk) > max_body:
                    raise TooLarge(f"request body over {max_body} bytes (serve.max_body_bytes)")
                body += chunk
        return body

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/v1/schema")
    async def schema(request: Request):
        denied = unauthorized(request)
        return served.schema if denied is None else denied

    @app.get("/v1/stats")
    async def get_stats(request: Request):
        denied = unauthorized(request)
        return asdict(stats) if denied is None else denied

    @app.post("/v1/predict")
    async def predict(request: Request):
        stats.predict_requests += 1
        denied = unauthorized(request)
        if denied is not None:
            stats.rejected += 1
            return denied
        wait = bucket.take() if bucket else 0.0
        if wait > 0:
            stats.throttled += 1
            retry_after = str(max(1, math.ceil(wait)))  # delay-seconds are whole seconds (RFC 9110)
            return error(429, f"rate limit of {serve_cfg.rate_limit:g} requests/s", **{"Retry-After": retry_after})
        try:
            body = await read_body(request)
        except TooLarge as exc:
            stats.rejected += 1
            return error(413, str(exc), Connection="close")  # the rest of the body is not read
        except TimeoutError:
            stats.rejected += 1
            return error(408, f"the request body did not arrive within {BODY_TIMEOUT_S:g} s", Connection="close")
        key = request.headers.get("idempotency-key")
        token = (key, hashlib.sha256(body).digest()) if key else None
        if token is not None:
            earlier = replays.get(token)
            if earlier is None and token in replays.pending:  # the first attempt is still being answered
                earlier = await asyncio.shield(replays.pending[token])
            if earlier is not None:
                stats.replayed += 1
                return Response(earlier, media_type="application/json")
            replays.pending[token] = asyncio.get_running_loop().create_future()
        answer = None
        try:
            if len(body) <= PARSE_INLINE_BYTES:
                answer = answer_body(body)
            else:  # parse big bodies off the event loop: /healthz and other clients stay responsive
                answer = await asyncio.to_thread(answer_body, body)
        except InputError as exc:
            stats.rejected += 1
            return error(422, str(exc))
        finally:
            if token is not None:
                if answer is not None:
                    replays.put(token, answer)
                replays.pending.pop(token).set_result(answer)
        return Response(answer, media_type="application/json")

    def answer_body(body: bytes) -> bytes:
        X = parse_instances(body, served, serve_cfg.max_batch)
        probs = served.predict(X)  # inline: for a batch of records a hop to a worker thread costs more than this
        stats.answered_requests += 1
        stats.records += len(X)
        return json.dumps({"probabilities": probs.tolist(), "classes": served.schema["classes"],
                           "model_id": served.model_id}, separators=(",", ":")).encode()

    return app


async def _watch_parent(app) -> None:
    """A server spawned by `socinf run target=remote` stops when its client is gone (even after kill -9)."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    log.warning("the client process %d is gone; stopping", parent)
    server = getattr(app.state, "uvicorn_server", None)
    if server is not None:
        server.should_exit = True


WEAK_KEYS = frozenset({"change-me", "changeme", "secret", "password", "test", "test-key", "api-key", "apikey",
                       "admin", "socinf", "key", "1234567890123456", "default", "letmein"})
MIN_KEY_CHARS = 16


def check_serve_config(s) -> None:
    try:
        loopback = ipaddress.ip_address(s.host).is_loopback
    except ValueError:
        loopback = s.host == "localhost"
    if not loopback:
        key = s.api_key or ""
        if len(key) < MIN_KEY_CHARS or key.lower() in WEAK_KEYS or len(set(key)) < 4:
            raise ConfigError(f"serve.host={s.host}: serving beyond loopback needs SOCINF_API_KEY set to a key of "
                              f">= {MIN_KEY_CHARS} characters that is not a known default (e.g. `python -c \"import "
                              f"secrets; print(secrets.token_urlsafe(24))\"`); the default host is 127.0.0.1")
    for name in ("max_connections", "max_batch"):
        if getattr(s, name) < 1:
            raise ConfigError(f"serve.{name}={getattr(s, name)}: must be a positive integer")
    if not s.header_timeout_s > 0:
        raise ConfigError(f"serve.header_timeout_s={s.header_timeout_s}: expected seconds > 0")
    if not 0 <= s.port <= 65535:
        raise ConfigError(f"serve.port={s.port}: expected 0 (any free port) to 65535")
    if s.rate_limit is not None and s.rate_limit <= 0:
        raise ConfigError(f"serve.rate_limit={s.rate_limit}: expected requests per second > 0, or null")
    if s.max_body_bytes < 1:
        raise ConfigError(f"serve.max_body_bytes={s.max_body_bytes}: must be a positive integer")


def server_config(app, serve_cfg) -> uvicorn.Config:
    """uvicorn's settings that keep the server bounded: connections (503 beyond), keep-alive, header size and
    the time to send a request head (``BoundedH11Protocol``)."""
    protocol = type("HeaderTimeoutH11", (BoundedH11Protocol,), {"header_timeout_s": serve_cfg.header_timeout_s})
    return uvicorn.Config(app, host=serve_cfg.host, port=serve_cfg.port, log_level="warning", access_log=False,
                          timeout_graceful_shutdown=5, http=protocol, limit_concurrency=serve_cfg.max_connections,
                          timeout_keep_alive=5, h11_max_incomplete_event_size=64 * 1024)  # request line + headers


def run_server(served: ServedModel, serve_cfg, run_dir: Path) -> None:
    """Serve ``served`` with uvicorn until SIGINT / SIGTERM; the port file is written once listening."""
    port_file = Path(serve_cfg.port_file) if serve_cfg.port_file else None
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
