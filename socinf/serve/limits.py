"""What keeps `socinf serve` bounded: rate limits, a replay memory, a pre-parse scan of bodies, header timeouts.

- ``TokenBucket``: requests per second; ``FailureLimiter``: failed API-key
  attempts per client IP (a guesser gets 429, whatever key it tries next).
- ``ReplayMemory``: the answers of recent ``Idempotency-Key`` requests (LRU,
  bounded in bytes), so a client's retry is answered again, not billed again.
- ``scan_json``: before ``json.loads`` a body is refused (422) if it nests
  deeper than ``{"instances": [{"indices": [...], ...}]}``, holds a number longer than
  ``MAX_NUMBER_DIGITS`` digits or escapes, or more numbers than the batch limit
  allows: the parser never builds more than ``max_batch`` x features floats.
- ``BoundedH11Protocol``: uvicorn's HTTP/1.1 protocol, but a connection that
  has not sent a complete request head within ``header_timeout_s`` is closed
  (half-open and slow-header clients hold no slot for ever), and beyond
  ``max_open`` connections the one idle longest is closed for the newcomer.
- ``InFlightLimit``: requests being answered at once (``serve.max_connections``,
  503 beyond); ``/healthz`` is exempt, idle connections are not counted.
"""
from __future__ import annotations

import asyncio
import json
import resource
import time
from collections import OrderedDict

import h11
import numpy as np
from uvicorn.protocols.http.h11_impl import H11Protocol

from socinf.serve.config import ServeConfig

MAX_NUMBER_DIGITS = 30
MAX_DEPTH = 4  # {"instances": [[...], ...]} or, sparse, {"instances": [{"indices": [...], "values": [...]}, ...]}


class TokenBucket:
    """``rate`` tokens per second, bursts up to ``capacity`` (default ``max(1, rate)``); event-loop only."""

    def __init__(self, rate: float, capacity: float | None = None):
        self.rate, self.capacity = rate, capacity if capacity is not None else max(1.0, rate)
        self.tokens, self.stamp = self.capacity, time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self) -> float:
        """0 if a token is there now (not taken), else the seconds until one is."""
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> float:
        """0 if a request may pass now (a token is taken), else the seconds until one may."""
        wait = self.wait()
        if wait == 0.0:
            self.tokens -= 1
        return wait


class FailureLimiter:
    """Failed API-key attempts per client IP: ``burst`` at once, then ``rate`` per second; at most ``max_clients``
    IPs remembered (least recently failing forgotten first)."""

    def __init__(self, rate: float = 0.5, burst: int = 10, max_clients: int = 10_000):
        self.rate, self.burst, self.max_clients = rate, burst, max_clients
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def blocked_for(self, client: str) -> float:
        bucket = self.buckets.get(client)
        return bucket.wait() if bucket is not None else 0.0

    def failed(self, client: str) -> None:
        bucket = self.buckets.pop(client, None) or TokenBucket(self.rate, self.burst)
        bucket.take()
        self.buckets[client] = bucket
        while len(self.buckets) > self.max_clients:
            self.buckets.popitem(last=False)


class ReplayMemory:
    """Answers by (``Idempotency-Key``, body hash), least recently used dropped beyond ``max_bytes``."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024):
        self.max_bytes, self.size = max_bytes, 0
        self.answers: OrderedDict[tuple, bytes] = OrderedDict()
        self.pending: dict[tuple, asyncio.Future] = {}

    def get(self, token: tuple) -> bytes | None:
        answer = self.answers.get(token)
        if answer is not None:
            self.answers.move_to_end(token)
        return answer

    def put(self, token: tuple, answer: bytes) -> None:
        if len(answer) > self.max_bytes or token in self.answers:
            return
        self.answers[token] = answer
        self.size += len(answer)
        while self.size > self.max_bytes:
            self.size -= len(self.answers.popitem(last=False)[1])


def scan_json(body: bytes, max_numbers: int, chunk: int = 1 << 18) -> str | None:
    """Why ``body`` must not reach ``json.loads`` (a 422 message), or None. Linear, vectorised in 256 KB chunks
    (a few MB of scratch memory whatever the body size, per request being scanned), no Python objects per byte."""
    if b"\\" in body:
        return "escapes in strings are not accepted (the body holds numbers and one key)"
    quotes, depth, commas, digits = 0, 0, 0, 0  # carried across chunks (digits: the run of digits so far)
    for start in range(0, len(body), chunk):
        raw = np.frombuffer(body, dtype=np.uint8, count=min(chunk, len(body) - start), offset=start)
        breaks = np.flatnonzero((raw < ord("0")) | (raw > ord("9")))  # a regex here would hold the GIL for seconds
        runs = np.diff(breaks, prepend=-1 - digits) - 1 if len(breaks) else np.array([digits + len(raw)])
        digits = len(raw) - 1 - int(breaks[-1]) if len(breaks) else digits + len(raw)
        if runs.max() > MAX_NUMBER_DIGITS or digits > MAX_NUMBER_DIGITS:
            return f"a number with more than {MAX_NUMBER_DIGITS} digits"
        in_string = (np.cumsum(raw == ord('"'), dtype=np.int32) + quotes % 2) % 2 == 1  # no escapes (checked above)
        quotes += int(np.count_nonzero(raw == ord('"')))
        step = np.isin(raw, (ord("["), ord("{"))).astype(np.int8) - np.isin(raw, (ord("]"), ord("}")))
        step[in_string] = 0
        levels = np.cumsum(step, dtype=np.int32) + depth
        if len(levels) and levels.max() > MAX_DEPTH:
            return f"JSON nested deeper than {MAX_DEPTH} levels; expected {{\"instances\": [[...], ...]}}"
        depth = int(levels[-1]) if len(levels) else depth
        commas += int(np.count_nonzero((raw == ord(",")) & ~in_string))
        if commas + 1 > max_numbers:
            return f"more than {max_numbers} numbers in one request (serve.max_batch x features)"
    return None


def open_connection_limit(max_requests: int) -> int:
    """Open connections a server keeps: well above the requests it answers at once, well below its file
    descriptors (the process's soft ``RLIMIT_NOFILE``, less a margin for its own files)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - 64 if soft != resource.RLIM_INFINITY else 1 << 20
    return max(8, min(max(256, 4 * max_requests), room))


class InFlightLimit:
    """ASGI middleware: at most ``limit`` requests being answered at once (503 with Retry-After beyond), the
    ``exempt`` paths (``/healthz``) never counted nor refused. Idle connections count for nothing here."""

    def __init__(self, app, limit: int, exempt: tuple[str, ...] = ()):
        self.app, self.limit, self.exempt, self.active = app, limit, exempt, 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.exempt:
            return await self.app(scope, receive, send)
        if self.active >= self.limit:
            body = json.dumps({"detail": f"{self.active} requests in flight (serve.max_connections={self.limit}); "
                                         "retry shortly"}).encode()
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1"),
                                    (b"content-length", str(len(body)).encode())]})
            return await send({"type": "http.response.body", "body": body})
        self.active += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self.active -= 1


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol; a connection without a complete request head after ``header_timeout_s`` is closed,
    and past ``max_open`` open connections the one idle for longest is closed to make room (a client holding
    connections it does not use cannot lock others out)."""

    header_timeout_s = ServeConfig.header_timeout_s  # server_config() sets the run's own
    max_open = 256
    _header_timer: asyncio.TimerHandle | None = None
    _idle_since: float | None = None  # monotonic time this connection last had no request in flight

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._idle_since = time.monotonic()
        self._arm()
        if len(self.connections) > self.max_open:
            self._evict_idle()

    def _evict_idle(self) -> None:
        idle = [c for c in self.connections if c is not self and getattr(c, "_idle_since", None) is not None]
        if idle:
            oldest = min(idle, key=lambda c: c._idle_since)
            oldest._idle_since = None
            oldest.transport.close()
        else:  # every other connection has a request in flight: this one waits its turn elsewhere
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state == h11.IDLE:  # bytes of a request head, not all of it yet: still idle
            self._arm()
        else:
            self._disarm()
            self._idle_since = None  # a request is being read or answered: never evicted

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = time.monotonic()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.conn.their_state == h11.IDLE and not self.transport.is_closing():
            self.transport.close()
