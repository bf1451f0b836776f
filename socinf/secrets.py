"""API keys (``SOCINF_API_KEY``: ``target.api_key``, ``serve.api_key``) never reach a file, a log or a message.

A key is checked where it arrives (``API_KEY``, a settings constraint): printable ASCII, no whitespace or
control character, so a trailing newline from ``$(cat key.txt)`` or ``echo`` is refused in one line before any
request (an HTTP header cannot carry it, and the error httpx would raise quotes the header). Messages show a key
only as its ``fingerprint``; ``scrub`` replaces any spelling of a key (as typed, stripped, escaped as Python
writes a string or bytes) in a text that may quote it (an HTTP library's error, a server's error detail).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

ENV_KEY = "SOCINF_API_KEY"
MIN_SCRUBBED = 4  # shorter "keys" are not searched for (they would blank ordinary words)


def fingerprint(key: str) -> str:
    """What a message may show of a key: its length and the start of its SHA-256, never its characters."""
    digest = hashlib.sha256(str(key).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"<key sha256:{digest}…, {len(str(key))} characters>"


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be sent as an HTTP header (without quoting it), or None."""
    for i, char in enumerate(key, 1):
        if char.isspace() or not char.isprintable() or not char.isascii():
            kind = ({"\n": "a newline", "\r": "a carriage return", "\t": "a tab", " ": "a space"}.get(char)
                    or ("a control character" if not char.isprintable() else
                        "whitespace" if char.isspace() else "a non-ASCII character"))
            edge = " (the last one)" if i == len(key) else " (the first one)" if i == 1 else ""
            return f"it holds {kind} at character {i} of {len(key)}{edge}"
    return None if key else "it is empty"


@dataclass(frozen=True)
class _ApiKey:
    """The settings constraint of an API key (``socinf.settings``); its messages show only the fingerprint."""

    def holds(self, value) -> bool:
        return isinstance(value, str) and key_problem(value) is None

    def describe(self) -> str:
        return ("a key of printable ASCII characters without whitespace (set SOCINF_API_KEY without a trailing "
                "newline or space, e.g. export SOCINF_API_KEY=\"$(tr -d '[:space:]' < key.txt)\")")

    def shown(self, value) -> str:
        if not isinstance(value, str):
            return f"<{type(value).__name__}>"
        return f"{fingerprint(value)} ({key_problem(value) or 'ok'})"


API_KEY = _ApiKey()


def _spellings(key: str) -> set[str]:
    forms = {key, key.strip(), repr(key)[1:-1], repr(key.strip())[1:-1]}
    try:
        forms |= {repr(key.encode("latin-1"))[2:-1], repr(key.strip().encode("latin-1"))[2:-1]}
    except UnicodeEncodeError:
        pass
    return {f for f in forms if len(f) >= MIN_SCRUBBED}


def scrub(text: str, *keys) -> str:
    """``text`` with every spelling of each key in ``keys`` (and of ``SOCINF_API_KEY``) replaced by its
    fingerprint."""
    text = str(text)
    for key in {*keys, os.environ.get(ENV_KEY)}:
        if not isinstance(key, str) or len(key.strip()) < MIN_SCRUBBED:
            continue
        for form in sorted(_spellings(key), key=len, reverse=True):
            text = text.replace(form, fingerprint(key))
    return text
