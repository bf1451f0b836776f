"""What ``RemoteTarget`` makes of an HTTP exchange besides the answer: which failures are retried, what a
server's error says, how big an answer may be, and that no error message quotes the API key."""
from __future__ import annotations

import functools

import httpx
import numpy as np

from socinf.errors import RemoteTargetError, SocinfError
from socinf.secrets import scrub

MAX_SCHEMA_BYTES = 64 * 1024 * 1024  # a schema or metadata answer (a million named features fit)
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
LOCAL_ERRORS = (httpx.LocalProtocolError, httpx.UnsupportedProtocol, UnicodeEncodeError)  # made here: never retried


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: fall back to our own back-off
        return None


def error_detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.text[:200]


def schema_number(value, what: str, where: str, low: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, (bool, str)) or not np.isfinite(number) or number < low:
        raise RemoteTargetError(f"{where}: {what}={value!r} in the schema; expected a number >= {low:g}")
    return number


def answer_cap(rows: int, classes: int) -> int:
    """The most bytes an answer of ``rows`` x ``classes`` probabilities may take: 64 per number (a float is at
    most ~24 characters in JSON) plus 64 KB for the rest; anything longer is refused unread."""
    return 64 * 1024 + 64 * rows * max(classes, 1)


def scrubbed(method):
    """A client method whose errors never quote the API key (a server may echo the headers it got)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except SocinfError as exc:
            text = scrub(str(exc), self.settings.api_key)
            if text == str(exc):
                raise
            raise type(exc)(text) from None

    return wrapper
