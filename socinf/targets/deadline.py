"""An overall deadline per HTTP request (``target.deadline_s``), besides httpx's per-read timeout.

httpx's ``read`` timeout bounds the wait for each chunk, so a server sending
one byte a second never trips it. ``deadline_transport`` gives httpx a network
backend whose every socket read and write is bounded by what is left of the
current request's deadline; past it, the read raises ``httpcore.ReadTimeout``,
which httpx reports as ``httpx.ReadTimeout`` like any other timeout.
"""
from __future__ import annotations

import time

import httpcore
import httpx


class _Clock:
    deadline: float | None = None  # time.monotonic() by which the current request must be over

    def left(self, timeout: float | None, error) -> float | None:
        if self.deadline is None:
            return timeout
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise error("the request's overall deadline passed")
        return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, clock: _Clock):
        self.inner, self.clock = inner, clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, self.clock.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self.clock.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> "_Stream":
        return _Stream(self.inner.start_tls(ssl_context, server_hostname, timeout), self.clock)

    def get_extra_info(self, info: str):
        return self.inner.get_extra_info(info)


class _Backend(httpcore.SyncBackend):
    def __init__(self, clock: _Clock):
        self.clock = clock

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = self.clock.left(timeout, httpcore.ConnectTimeout)
        return _Stream(super().connect_tcp(host, port, timeout, local_address, socket_options), self.clock)


MAX_BYTES = "socinf_max_bytes"  # request extension: the most answer bytes this request may read


class AnswerTooLarge(Exception):
    """An answer longer than its request's ``MAX_BYTES`` (or compressed although ``identity`` was asked)."""


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, inner, cap: int):
        self.inner, self.cap = inner, cap

    def __iter__(self):
        seen = 0
        for chunk in self.inner:
            seen += len(chunk)
            if seen > self.cap:
                raise AnswerTooLarge(f"more than {self.cap} bytes")
            yield chunk

    def close(self) -> None:
        self.inner.close()


def _capped(response: httpx.Response, cap: int) -> None:
    """Refuse an answer past ``cap`` bytes before reading it (its Content-Length) or while reading it."""
    encoding = response.headers.get("content-encoding", "identity").lower()
    if encoding not in ("", "identity"):
        raise AnswerTooLarge(f"compressed ({encoding}) although the request asked for identity")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise AnswerTooLarge(f"{declared} bytes declared, at most {cap}")
    response.stream = _CappedStream(response.stream, cap)


class DeadlineTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose requests each end by ``deadline_s`` seconds after they start, and read at
    most the request's ``MAX_BYTES`` extension of answer (an answer's size follows from rows x classes)."""

    def __init__(self, deadline_s: float | None, **kwargs):
        super().__init__(**kwargs)
        self.deadline_s, self._clock = deadline_s, _Clock()
        self._pool._network_backend = _Backend(self._clock)  # httpx has no public hook for the backend

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._clock.deadline = None if self.deadline_s is None else time.monotonic() + self.deadline_s
        try:
            response = super().handle_request(request)
            try:
                if request.extensions.get(MAX_BYTES) is not None:
                    _capped(response, request.extensions[MAX_BYTES])
                response.read()  # the whole body within the same deadline (the client reads every answer anyway)
            except BaseException:
                response.close()
                raise
            return response
        finally:
            self._clock.deadline = None
