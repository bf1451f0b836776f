"""Persistent answers of a paid prediction API, and the budget ledger: a record is paid for once, ever.

One SQLite file (``<data.root>/cache/queries.sqlite``). Table ``answers`` is
keyed by the normalised endpoint (``normalise_url``), model id and a hash of
the record's bytes. Each batch is committed as soon as it is answered, so a
run killed mid-way keeps everything it paid for and a rerun (or another job of
a sweep, WAL mode) reads it back instead of paying again.

Table ``budget`` holds the records sent per scope (``target.budget_scope``:
one endpoint + model, or one run dir of it). ``charge`` books a batch in one
``BEGIN IMMEDIATE`` transaction *before* it is sent, so parallel processes,
reruns and resumes share one total and a batch whose answer was lost stays
charged.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import urlsplit

import numpy as np

from socinf.errors import ConfigError

_SCHEMA = """CREATE TABLE IF NOT EXISTS answers (
    endpoint TEXT NOT NULL, model_id TEXT NOT NULL, record BLOB NOT NULL, probs BLOB NOT NULL,
    PRIMARY KEY (endpoint, model_id, record)) WITHOUT ROWID"""
_BUDGET = "CREATE TABLE IF NOT EXISTS budget (scope TEXT PRIMARY KEY, records INTEGER NOT NULL)"
_CHUNK = 500  # host parameters per IN (...) lookup, under SQLite's limit


WIDE = 4096  # records wider than this are keyed by their non-zeros (hashing d float64 a record would cost more)


def record_keys(X) -> list[bytes]:
    """A 16-byte digest per record, the same for a record dense or sparse: of its float64 bytes (as every
    cache before sparse records, so their answers stay found), or for records wider than ``WIDE`` features (all
    of an endpoint's, since its width is fixed) of its non-zero columns and values."""
    from socinf.sparse import as_csr, dense_batches, is_sparse, to_format

    if X.shape[1] <= WIDE:
        blocks = dense_batches(X, dtype=np.float64) if is_sparse(X) else [np.ascontiguousarray(X, dtype=np.float64)]
        return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for block in blocks for row in block]
    X = as_csr(to_format(X, True), np.float64)
    return [hashlib.blake2b(X.indices[X.indptr[i]:X.indptr[i + 1]].astype(np.int64).tobytes() +
                            X.data[X.indptr[i]:X.indptr[i + 1]].tobytes(), digest_size=16).digest()
            for i in range(X.shape[0])]



_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "ip6-localhost"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_url(url: str) -> str:
    """One spelling per endpoint: scheme and host lower-cased, localhost = 127.0.0.1 = ::1, the port explicit,
    no trailing slash (``HTTP://LocalHost/`` -> ``http://127.0.0.1:80``). Other strings pass unchanged."""
    parts = urlsplit(str(url).strip())
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return str(url).rstrip("/")
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    host = "127.0.0.1" if host in _LOOPBACK else (f"[{host}]" if ":" in host else host)
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:  # a port that is not a number: leave the URL as written
        return str(url).rstrip("/")
    return f"{scheme}://{host}:{port}{parts.path.rstrip('/')}"


def _usable(method):
    """A query-cache operation whose SQLite file turns out corrupt ends in one line with the fix."""

    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):  # another job held it past the timeout: not corrupt
                raise
            raise ConfigError(f"{self.path}: not a usable query cache ({exc}); delete the file (its answers and "
                              "budget ledger are lost) or point data.root elsewhere") from None

    return wrapper


class QueryCache:
    @_usable
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")  # readers and a writer from parallel sweep jobs
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable at each commit in WAL, without an fsync per batch
        self._db.execute(_SCHEMA)
        self._db.execute(_BUDGET)
        self._db.commit()

    @_usable
    def spent(self, scope: str) -> int:
        row = self._db.execute("SELECT records FROM budget WHERE scope=?", (scope,)).fetchone()
        return int(row[0]) if row else 0

    @_usable
    def charge(self, scope: str, n: int, limit: int | None) -> tuple[bool, int]:
        """Book ``n`` records to ``scope`` unless that would pass ``limit``: (booked, records spent before)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # one writer at a time across processes: no two jobs pass the same gap
        try:
            spent = self.spent(scope)
            if limit is not None and spent + n > limit:
                db.execute("ROLLBACK")
                return False, spent
            db.execute("INSERT INTO budget VALUES (?, ?) ON CONFLICT(scope) DO UPDATE SET records=records+?",
                       (scope, n, n))
            db.execute("COMMIT")
            return True, spent
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @_usable
    def get_many(self, endpoint: str, model_id: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start:start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT record, probs FROM answers WHERE endpoint=? AND model_id=? AND record IN ({marks})",
                [endpoint, model_id, *chunk])
            found.update((record, np.frombuffer(probs, dtype=np.float64)) for record, probs in rows)
        return found

    @_usable
    def put_many(self, endpoint: str, model_id: str, keys: Iterable[bytes], probs: np.ndarray) -> None:
        """Store one answered batch and commit it (what was paid for survives a kill right after)."""
        rows = [(endpoint, model_id, key, np.asarray(p, dtype=np.float64).tobytes()) for key, p in zip(keys, probs)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)", rows)

    @_usable
    def count(self, endpoint: str | None = None, model_id: str | None = None) -> int:
        query, args = "SELECT COUNT(*) FROM answers WHERE 1=1", []
        for column, value in (("endpoint", endpoint), ("model_id", model_id)):
            if value is not None:
                query += f" AND {column}=?"
                args.append(value)
        return int(self._db.execute(query, args).fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "QueryCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
