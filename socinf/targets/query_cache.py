"""Persistent answers of a paid prediction API: a record is paid for once, ever.

One SQLite file (``<data.root>/cache/queries.sqlite``), keyed by endpoint,
model id and a hash of the record's bytes. Each batch is committed as soon as
it is answered, so a run killed mid-way keeps everything it paid for and a
rerun (or another job of a sweep, WAL mode) reads it back instead of paying again.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

_SCHEMA = """CREATE TABLE IF NOT EXISTS answers (
    endpoint TEXT NOT NULL, model_id TEXT NOT NULL, record BLOB NOT NULL, probs BLOB NOT NULL,
    PRIMARY KEY (endpoint, model_id, record)) WITHOUT ROWID"""
_CHUNK = 500  # host parameters per IN (...) lookup, under SQLite's limit


def record_keys(X: np.ndarray) -> list[bytes]:
    """A 16-byte digest per row of the float64 matrix (the same record always hashes the same)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in X]


class QueryCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")  # readers and a writer from parallel sweep jobs
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable at each commit point in WAL, without an fsync per batch
        self._db.execute(_SCHEMA)
        self._db.commit()

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

    def put_many(self, endpoint: str, model_id: str, keys: Iterable[bytes], probs: np.ndarray) -> None:
        """Store one answered batch and commit it (what was paid for survives a kill right after)."""
        rows = [(endpoint, model_id, key, np.asarray(p, dtype=np.float64).tobytes()) for key, p in zip(keys, probs)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)", rows)

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
