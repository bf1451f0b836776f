"""The wire format of ``instances``, with a fast path for keyword records.

JSON-encoding or -decoding 256 x 200 small integers through Python lists costs
more than the whole HTTP round trip. Records whose values are all digits 0-9
(binary keyword indicators) are written as compact JSON by a vectorised path,
and the server recognises exactly that layout, byte for byte, without a JSON
parser; any other body goes through ``json`` as usual. Both paths give the
same matrix for the same JSON text.

Sparse records (keyword vectors over thousands of keywords hold a handful of non-zeros) may also be sent as
``{"instances": [{"indices": [...], "values": [...]}, ...]}``: each instance the sorted column indices of its
non-zeros and their values. A server that reads this says so in its schema (``"encodings"``); the client then
uses it for a batch whenever that body is smaller than the dense one. A body may mix both forms of instance.
"""
from __future__ import annotations

import base64
import json

import numpy as np

_HEAD, _TAIL = b'{"instances":[', b"]}"
_COMMA, _OPEN, _CLOSE, _ZERO = ord(","), ord("["), ord("]"), ord("0")


def _layout(n: int, d: int) -> np.ndarray:
    """``[d,d,...,d],`` per record, digits zeroed: the bytes a compact body must have around the digits."""
    text = np.full((n, 2 * d + 2), _COMMA, dtype=np.uint8)
    text[:, 0], text[:, 2 * d] = _OPEN, _CLOSE
    return text


SPARSE = "sparse"  # the schema's name of the {"indices", "values"} encoding
ENCODINGS = ("dense", SPARSE)  # what `socinf serve` reads


def _digits(values: np.ndarray) -> bool:
    return bool(values.size and values.min() >= 0 and values.max() <= 9 and np.array_equal(values, np.round(values)))


def json_numbers(values: np.ndarray) -> str:
    """Comma-separated JSON numbers: single digits written as such, anything else as ``json`` writes floats."""
    if not values.size:
        return ""
    if _digits(values):
        text = np.full(2 * values.size - 1, _COMMA, dtype=np.uint8)
        text[::2] = values.astype(np.uint8) + _ZERO
        return text.tobytes().decode()
    return json.dumps(values.astype(np.float64).tolist(), separators=(",", ":"))[1:-1]


def encode_sparse_instances(rows) -> bytes:
    """``{"instances": [{"indices": [...], "values": [...]}, ...]}`` of a CSR matrix (zeros not written)."""
    from socinf.sparse import as_csr

    rows = as_csr(rows)
    parts = []
    for i in range(rows.shape[0]):
        lo, hi = rows.indptr[i], rows.indptr[i + 1]
        parts.append('{"indices":[' + _numbers_int(rows.indices[lo:hi]) + '],"values":[' +
                     json_numbers(rows.data[lo:hi]) + "]}")
    return b'{"instances":[' + ",".join(parts).encode() + b"]}"


def _numbers_int(indices: np.ndarray) -> str:
    return ",".join(map(str, indices.tolist()))


def dense_size_at_least(n: int, d: int) -> int:
    """No dense body of n records of width d is shorter: one character and one separator a value."""
    return len(_HEAD) + len(_TAIL) + n * (2 * d + 1)


def encode_records(rows, sparse_ok: bool) -> bytes:
    """The request body for ``rows`` (dense or sparse): the sparse encoding where the server reads it
    (``sparse_ok``) and it is smaller than any dense body could be, else the dense one."""
    from socinf.sparse import dense, is_sparse

    if sparse_ok and is_sparse(rows):
        body = encode_sparse_instances(rows)
        if len(body) < dense_size_at_least(*rows.shape):
            return body
    return encode_instances(dense(rows))


def decode_sparse_instances(instances: list, d: int):
    """The CSR matrix of a parsed ``instances`` list whose items are lists of ``d`` numbers or
    ``{"indices": [...], "values": [...]}`` objects; ``ValueError`` with the reason (one line) otherwise."""
    from scipy import sparse

    indices, values, indptr = [], [], [0]
    for row, item in enumerate(instances):
        if isinstance(item, dict):
            cols, vals = _sparse_item(item, row, d)
        else:
            dense_row = np.asarray(item) if isinstance(item, list) else None
            if dense_row is None or dense_row.ndim != 1 or dense_row.dtype.kind not in "iuf" or len(dense_row) != d:
                raise ValueError(f"instance {row}: expected a list of {d} numbers or an object with indices and values")
            cols = np.flatnonzero(dense_row)
            vals = dense_row[cols].astype(np.float64)
        indices.append(cols)
        values.append(vals)
        indptr.append(indptr[-1] + len(cols))
    cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
    return sparse.csr_matrix((cat(values, np.float64), cat(indices, np.int64), np.asarray(indptr)),
                             shape=(len(instances), d))


def _sparse_item(item: dict, row: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    if set(item) != {"indices", "values"}:
        raise ValueError(f"instance {row}: a sparse instance has exactly the keys indices and values; got "
                         f"{sorted(map(str, item))[:4]}")
    cols, vals = item["indices"], item["values"]
    if not isinstance(cols, list) or not isinstance(vals, list) or len(cols) != len(vals):
        raise ValueError(f"instance {row}: indices and values must be lists of the same length")
    try:
        cols_a, vals_a = np.asarray(cols), np.asarray(vals)
    except (TypeError, ValueError):  # ragged nesting
        cols_a = vals_a = np.zeros((0, 0))
    if cols_a.ndim != 1 or vals_a.ndim != 1:
        raise ValueError(f"instance {row}: indices and values must be flat lists of numbers")
    if cols and (cols_a.dtype.kind not in "iu" or any(isinstance(c, bool) for c in cols)):
        raise ValueError(f"instance {row}: indices must be integers in [0, {d})")
    if vals and (vals_a.dtype.kind not in "iuf" or any(isinstance(v, bool) for v in vals)):
        raise ValueError(f"instance {row}: values must be numbers")
    cols_a = cols_a.astype(np.int64) if cols else np.zeros(0, np.int64)
    if len(cols_a) and (cols_a.min() < 0 or cols_a.max() >= d or (np.diff(cols_a) <= 0).any()):
        raise ValueError(f"instance {row}: indices must be strictly increasing integers in [0, {d})")
    return cols_a, vals_a.astype(np.float64) if vals else np.zeros(0)


def encode_instances(rows: np.ndarray) -> bytes:
    """The request body ``{"instances": [[...], ...]}`` (compact when every value is a digit 0-9)."""
    rows = np.asarray(rows)
    digits = _digits(rows)
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


# ------------------------------------------------------------------ answers
# JSON writes a probability as its shortest decimal (~0.8 us each: a 256 x 4 answer took as long to encode as the
# model took to compute it). A client may ask (header ANSWER_HEADER) for the same float64 values as base64
# bytes instead, which a server that reads the header lists in its schema's "answer_encodings".
FLOAT64 = "float64"
ANSWER_ENCODINGS = ("json", FLOAT64)
ANSWER_HEADER = "X-Answer-Encoding"


def encode_answer(probs: np.ndarray, classes: list, model_id: str, encoding: str = "json") -> bytes:
    """The body of a predict answer: probabilities as JSON numbers, or (``FLOAT64``) as base64 little-endian
    float64 in row-major order with their ``shape``; the same values bit for bit either way."""
    head = {"classes": classes, "model_id": model_id}
    if encoding == FLOAT64:
        probs = np.ascontiguousarray(probs, dtype="<f8")
        head.update(probabilities_float64=base64.b64encode(probs.tobytes()).decode("ascii"), shape=list(probs.shape))
    else:
        head["probabilities"] = np.asarray(probs).tolist()
    return json.dumps(head, separators=(",", ":")).encode()


def decode_float64_answer(payload: dict) -> np.ndarray:
    """The probability matrix of a ``FLOAT64`` answer; ValueError naming what is wrong."""
    shape, text = payload.get("shape"), payload.get("probabilities_float64")
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) and v >= 0 for v in shape)):
        raise ValueError(f"shape={str(shape)[:40]!r}; expected [rows, classes]")
    if not isinstance(text, str):
        raise ValueError("probabilities_float64 is not a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("probabilities_float64 is not valid base64") from None
    if len(raw) != shape[0] * shape[1] * 8:
        raise ValueError(f"probabilities_float64 holds {len(raw)} bytes; shape {shape} needs {shape[0] * shape[1] * 8}")
    return np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64)
