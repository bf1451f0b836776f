"""The wire format of ``instances``, with a fast path for keyword records.

JSON-encoding or -decoding 256 x 200 small integers through Python lists costs
more than the whole HTTP round trip. Records whose values are all digits 0-9
(binary keyword indicators) are written as compact JSON by a vectorised path,
and the server recognises exactly that layout, byte for byte, without a JSON
parser; any other body goes through ``json`` as usual. Both paths give the
same matrix for the same JSON text.
"""
from __future__ import annotations

import json

import numpy as np

_HEAD, _TAIL = b'{"instances":[', b"]}"
_COMMA, _OPEN, _CLOSE, _ZERO = ord(","), ord("["), ord("]"), ord("0")


def _layout(n: int, d: int) -> np.ndarray:
    """``[d,d,...,d],`` per record, digits zeroed: the bytes a compact body must have around the digits."""
    text = np.full((n, 2 * d + 2), _COMMA, dtype=np.uint8)
    text[:, 0], text[:, 2 * d] = _OPEN, _CLOSE
    return text


def encode_instances(rows: np.ndarray) -> bytes:
    """The request body ``{"instances": [[...], ...]}`` (compact when every value is a digit 0-9)."""
    rows = np.asarray(rows)
    digits = rows.size and rows.min() >= 0 and rows.max() <= 9 and np.array_equal(rows, np.round(rows))
    if not digits:
        return json.dumps({"instances": rows.astype(np.float64).tolist()}, separators=(",", ":")).encode()
    n, d = rows.shape
    text = _layout(n, d)
    text[:, 1:2 * d:2] = rows.astype(np.uint8) + _ZERO
    return _HEAD + text.tobytes()[:-1] + _TAIL


def decode_compact_instances(body: bytes, d: int) -> np.ndarray | None:
    """The matrix of a compact body of ``d``-wide digit records, or None if ``body`` is not exactly that."""
    inner_len = len(body) - len(_HEAD) - len(_TAIL) + 1  # + the separator the last record lacks
    if not (body.startswith(_HEAD) and body.endswith(_TAIL)) or inner_len % (2 * d + 2):
        return None
    n = inner_len // (2 * d + 2)
    if n == 0:
        return None
    text = np.frombuffer(body[len(_HEAD):-len(_TAIL)] + b",", dtype=np.uint8).reshape(n, 2 * d + 2)
    digits = text[:, 1:2 * d:2]
    frame = text.copy()
    frame[:, 1:2 * d:2] = _COMMA
    if not np.array_equal(frame, _layout(n, d)) or (digits < _ZERO).any() or (digits > _ZERO + 9).any():
        return None
    return (digits - _ZERO).astype(np.float64)
