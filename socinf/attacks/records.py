"""Distinct synthetic records, kept by their non-zeros (Stage 1, paper III.B: "keep X_s when it is new").

A synthesized record is a set of present keywords. ``RecordSet`` keeps each new one in the order it is found,
keyed by the indices of its non-zeros (the same equivalence as comparing the whole vectors, at the cost of a
handful of integers instead of d bytes a record), and returns them as a CSR matrix or a dense uint8 array.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from socinf.sparse import as_csr


class RecordSet:
    """At most ``limit`` distinct binary records of width ``n_features``, in the order they were added."""

    def __init__(self, n_features: int, limit: int):
        self.n_features, self.limit = n_features, limit
        self.seen: set[bytes] = set()
        self.rows: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.rows)

    @staticmethod
    def key(present: np.ndarray) -> bytes:
        return np.asarray(present, dtype=np.int64).tobytes()

    def is_new(self, present: np.ndarray) -> bool:
        return self.key(present) not in self.seen

    def add(self, present_rows) -> int:
        """Keep each row (sorted indices of its present features) not seen before, up to ``limit``; returns how
        many were kept."""
        kept = 0
        for present in present_rows:
            key = self.key(present)
            if key not in self.seen and len(self.rows) < self.limit:
                self.seen.add(key)
                self.rows.append(np.asarray(present, dtype=np.int64))
                kept += 1
        return kept

    def add_dense(self, block: np.ndarray) -> int:
        return self.add(np.flatnonzero(row) for row in block)

    def matrix(self, as_sparse: bool):
        """The kept records: CSR (``as_sparse``) or dense, uint8 either way."""
        lengths = [len(r) for r in self.rows]
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        indices = np.concatenate(self.rows).astype(np.int32) if self.rows else np.zeros(0, np.int32)
        X = sparse.csr_matrix((np.ones(len(indices), np.uint8), indices, indptr),
                              shape=(len(self.rows), self.n_features))
        return X if as_sparse else X.toarray()


def present_rows(X) -> list[np.ndarray]:
    """Each row's sorted indices of non-zero entries (CSR or dense)."""
    if sparse.issparse(X):
        X = as_csr(X)  # sorted indices, no stored zeros
        return np.split(X.indices.astype(np.int64), X.indptr[1:-1])
    return [np.flatnonzero(row) for row in np.asarray(X)]
