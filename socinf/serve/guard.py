"""What every request of `socinf serve` passes before a route answers it: the API key, the rate limit, a body read
within its bounds, and the ``Idempotency-Key`` memory.

``RequestGuard`` holds the server's counters (``ServerStats``) and the per-server state of those checks; the
routes in ``app.py`` only parse and answer. Each check returns the error response it decided on (or None), so
a route reads as the list of checks it makes.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from socinf.serve.limits import FailureLimiter, ReplayMemory, TokenBucket

BODY_TIMEOUT_S = 60.0  # a request body must arrive within this (a slow body holds no slot for ever)


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


class Busy(Exception):
    """The bodies in flight would pass ``serve.max_inflight_bytes``: 503, the body not read."""


def error(status: int, message: str, **headers) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers or None)


def _retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))  # delay-seconds are whole seconds (RFC 9110)


BYTES_PER_NUMBER = 64  # a JSON number of 30 digits, its sign, point, exponent, separator and some whitespace


def largest_body(serve_cfg, n_features: int | None) -> tuple[int, str]:
    """The most bytes a request may send, and what says so: ``serve.max_body_bytes``, or less when even
    ``serve.max_batch`` records of ``n_features`` numbers at ``BYTES_PER_NUMBER`` each could not fill it."""
    if n_features:
        useful = serve_cfg.max_batch * n_features * BYTES_PER_NUMBER + 64 * 1024
        if useful < serve_cfg.max_body_bytes:
            return useful, f"serve.max_batch={serve_cfg.max_batch} records x {n_features} features x " \
                           f"{BYTES_PER_NUMBER} bytes per number"
    return serve_cfg.max_body_bytes, "serve.max_body_bytes"


class RequestGuard:
    """The key, rate, body and replay checks of one server (``serve_cfg``: a ``ServeConfig``; ``n_features``:
    the served model's, which bounds the size a useful body can have)."""

    def __init__(self, serve_cfg, n_features: int | None = None):
        self.cfg, self.stats = serve_cfg, ServerStats()
        self.max_body, self.max_body_rule = largest_body(serve_cfg, n_features)
        self.bucket = TokenBucket(serve_cfg.rate_limit) if serve_cfg.rate_limit else None
        self.failures = FailureLimiter()  # wrong API keys per client IP
        self.replays = ReplayMemory()
        self.inflight_bytes = 0  # body bytes reserved by the requests being read or answered (event loop only)

    def unauthorized(self, request: Request) -> JSONResponse | None:
        """401 for a wrong key; 429 for a client IP that failed too often (checked first: guessing is slow)."""
        api_key = self.cfg.api_key
        if api_key is None:
            return None
        client = request.client.host if request.client else "?"
        wait = self.failures.blocked_for(client)
        if wait > 0:
            self.stats.throttled += 1
            return error(429, "too many failed API-key attempts from this address", **{"Retry-After": _retry_after(wait)})
        given = request.headers.get("x-api-key", "")
        if hmac.compare_digest(given.encode(), api_key.encode()):
            return None
        self.failures.failed(client)
        return error(401, "missing or wrong API key (header X-API-Key)", **{"WWW-Authenticate": "ApiKey"})

    def throttled(self) -> JSONResponse | None:
        """429 with Retry-After beyond ``serve.rate_limit`` requests per second."""
        wait = self.bucket.take() if self.bucket else 0.0
        if wait <= 0:
            return None
        self.stats.throttled += 1
        return error(429, f"rate limit of {self.cfg.rate_limit:g} requests/s", **{"Retry-After": _retry_after(wait)})

    def _reserve(self, request: Request, n: int) -> None:
        """Count ``n`` more body bytes of ``request`` as in flight, or raise ``Busy`` past the server's budget."""
        if self.inflight_bytes + n > self.cfg.max_inflight_bytes:
            raise Busy()
        self.inflight_bytes += n
        request.state.reserved = getattr(request.state, "reserved", 0) + n

    def release(self, request: Request) -> None:
        """The request is answered: its body bytes no longer count against ``serve.max_inflight_bytes``."""
        self.inflight_bytes -= getattr(request.state, "reserved", 0)
        request.state.reserved = 0

    async def read_body(self, request: Request) -> bytearray:
        """The whole body, refused (``TooLarge``) past ``largest_body`` by its declared or its read length,
        and (``Busy``) when the bodies in flight would pass ``serve.max_inflight_bytes``. A declared length is
        reserved before a byte is read, into a buffer of exactly that size (no growing copies)."""
        max_body = self.max_body
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            raise TooLarge(f"request body of {declared} bytes; at most {max_body} ({self.max_body_rule})")
        size = int(declared) if declared.isdigit() else None
        self._reserve(request, size or 0)
        body, filled = bytearray(size or 0), 0
        async with asyncio.timeout(BODY_TIMEOUT_S):
            async for chunk in request.stream():
                if filled + len(chunk) > (max_body if size is None else size):
                    raise TooLarge(f"request body over {max_body if size is None else size} bytes "
                                   f"({self.max_body_rule if size is None else 'its Content-Length'})")
                if size is None:
                    self._reserve(request, len(chunk))
                    body += chunk
                else:
                    body[filled:filled + len(chunk)] = chunk
                filled += len(chunk)
        return body if size is None else body[:filled] if filled < size else body

    async def body_or_error(self, request: Request) -> bytearray | JSONResponse:
        try:
            return await self.read_body(request)
        except TooLarge as exc:
            self.stats.rejected += 1
            return error(413, str(exc), Connection="close")  # the rest of the body is not read
        except Busy:
            self.stats.throttled += 1
            return error(503, f"the server holds {self.cfg.max_inflight_bytes} bytes of request bodies already "
                         "(serve.max_inflight_bytes); retry shortly", Connection="close", **{"Retry-After": "1"})
        except TimeoutError:
            self.stats.rejected += 1
            return error(408, f"the request body did not arrive within {BODY_TIMEOUT_S:g} s", Connection="close")
        except ClientDisconnect:  # nobody to answer; the reserved bytes go with the request (release)
            return error(400, "the client closed the connection before its body arrived", Connection="close")

    async def once(self, key: str | None, body: bytes, answer: Callable[[], Awaitable[bytes]]) -> bytes:
        """``answer()`` for this body, or the answer an earlier request with the same ``Idempotency-Key`` and body
        got (not billed again). Concurrent twins wait for the first; if it failed, each computes its own."""
        if not key:
            return await answer()
        token = (key, hashlib.sha256(body).digest())
        while True:
            done = self.replays.get(token)
            if done is not None:
                self.stats.replayed += 1
                return done
            pending = self.replays.pending.get(token)
            if pending is None:
                break
            await asyncio.shield(pending)  # then look again: answered -> replay; failed -> answer it ourselves
        future = asyncio.get_running_loop().create_future()
        self.replays.pending[token] = future
        try:
            result = await answer()
            self.replays.put(token, result)
            return result
        finally:
            del self.replays.pending[token]
            future.set_result(None)
