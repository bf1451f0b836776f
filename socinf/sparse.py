"""Records held sparse or dense: the few operations every floor needs, written once for both formats.

Keyword features (paper IV.A) are mostly zeros: a post holds 5-10 of thousands of keywords. A corpus of a
million posts over 50,000 keywords takes 200 GB as a dense float32 matrix and about 0.1 GB as
``scipy.sparse`` CSR, so socinf keeps records in the format it is given (``socinf.data`` emits CSR) and every
step works on either: row selection and stacking are the formats' own, ``dense_batches`` densifies a bounded
block of rows where a computation needs dense rows (the mimic), and ``row_ids`` identifies a record by a hash
of its non-zeros, so exact duplicates are found without materialising n x d bytes (the collision ceiling, the
overlap counts). The same vector has the same id whether it arrives dense or sparse.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from scipy import sparse

DENSE_BATCH_BYTES = 64 * 2**20  # a densified block of rows stays below this (float32)


def is_sparse(X) -> bool:
    return sparse.issparse(X)


def structure_problem(X) -> str | None:
    """What is wrong with the index arrays of the sparse matrix ``X``, or None: an index out of its range, a
    decreasing index pointer... (scipy reads such arrays without checking them, and may crash the process)."""
    if X.format in ("csr", "csc", "bsr"):
        try:
            X.check_format(full_check=True)
        except (ValueError, TypeError, IndexError) as exc:
            return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None
    if X.format == "coo":
        for axis, index in enumerate(getattr(X, "coords", None) or (X.row, X.col)):
            if len(index) and (index.min() < 0 or index.max() >= X.shape[axis]):
                return f"a {('row', 'column')[axis]} index outside [0, {X.shape[axis]})"
    return None  # dok, lil, dia: scipy keeps their indices consistent


def as_csr(X, dtype=None):
    """``X`` (any scipy.sparse format) as CSR with sorted indices and no stored zeros; dense stays dense."""
    if not sparse.issparse(X):
        return X if dtype is None else np.asarray(X, dtype=dtype)
    X = sparse.csr_matrix(X, dtype=dtype or X.dtype)
    X.sum_duplicates()
    X.eliminate_zeros()
    return X


def to_format(X, to_sparse: bool | None):
    """``X`` as CSR (``to_sparse`` True), dense (False) or as it is (None; a list becomes an array)."""
    if to_sparse is None:
        return X if sparse.issparse(X) else np.asarray(X)
    if to_sparse:
        return as_csr(X) if sparse.issparse(X) else sparse.csr_matrix(np.asarray(X))
    return dense(X)


def like(X, reference):
    """``X`` in the format of ``reference``: CSR when ``reference`` is sparse, else dense."""
    return to_format(X, sparse.issparse(reference))


def dense(X, dtype=None) -> np.ndarray:
    """A dense array of ``X`` (only for blocks known to be small: a batch, a narrow matrix)."""
    if sparse.issparse(X):
        X = X.toarray()
    return np.asarray(X) if dtype is None else np.asarray(X, dtype=dtype)


def stack(parts: list):
    """Rows of ``parts`` one after another, sparse if any part is."""
    if any(sparse.issparse(p) for p in parts):
        return sparse.vstack([p if sparse.issparse(p) else sparse.csr_matrix(np.asarray(p)) for p in parts],
                             format="csr")
    return np.concatenate([np.asarray(p) for p in parts])


def fits_dense(X) -> bool:
    """Whether ``X``'s dense float32 form fits in ``DENSE_BATCH_BYTES`` (the paper's corpora do): then socinf
    densifies sparse records for a fit or a batch, the computation of a dense run bit for bit."""
    return X.shape[0] * X.shape[1] * 4 <= DENSE_BATCH_BYTES


def batch_rows(n_features: int, limit_bytes: int = DENSE_BATCH_BYTES) -> int:
    """How many float32 rows of width ``n_features`` a dense block of ``limit_bytes`` holds (at least 1)."""
    return max(1, limit_bytes // (4 * max(n_features, 1)))


def dense_batches(X, rows: int | None = None, dtype=np.float32) -> Iterator[np.ndarray]:
    """``X`` as consecutive dense blocks of at most ``rows`` rows (default: ``batch_rows``)."""
    rows = rows or batch_rows(X.shape[1])
    for start in range(0, X.shape[0], rows):
        yield dense(X[start:start + rows], dtype)


def to_npz(name: str, X) -> dict[str, np.ndarray]:
    """Arrays ``np.savez`` stores ``X`` as under ``name`` (a sparse ``X``: its CSR arrays and shape, so it loads
    with ``allow_pickle=False``); ``from_npz`` reads them back."""
    if not sparse.issparse(X):
        return {name: np.asarray(X)}
    X = as_csr(X)
    return {f"{name}__data": X.data, f"{name}__indices": X.indices, f"{name}__indptr": X.indptr,
            f"{name}__shape": np.asarray(X.shape, dtype=np.int64)}


def from_npz(arrays, name: str):
    """The matrix ``to_npz(name, X)`` stored, from an opened ``.npz`` (or any mapping of arrays)."""
    if name in arrays:
        return arrays[name]
    X = sparse.csr_matrix((arrays[f"{name}__data"], arrays[f"{name}__indices"], arrays[f"{name}__indptr"]),
                          shape=tuple(int(n) for n in arrays[f"{name}__shape"]))
    X.check_format(full_check=True)
    return X


def values(X) -> np.ndarray:
    """The stored values of ``X``: the non-zeros of a sparse matrix, every entry of a dense one."""
    return X.data if sparse.issparse(X) else np.asarray(X).ravel()


def non_binary_columns(X) -> np.ndarray:
    """Indices of the columns holding a value other than 0 and 1."""
    if sparse.issparse(X):
        X = as_csr(X)
        return np.unique(X.indices[(X.data != 0) & (X.data != 1)])
    return np.flatnonzero(~np.isin(np.asarray(X), (0, 1)).all(axis=0))


def first_entry(X, bad, columns=None) -> tuple | None:
    """(row, column, value) of the first entry of ``X`` in ``columns`` (None: all) whose value ``bad`` flags:
    of a dense ``X`` any entry, of a sparse one a stored entry (an absent one is 0)."""
    if sparse.issparse(X):
        coo = X.tocoo()
        hit = bad(coo.data)
        if columns is not None:
            keep = np.zeros(X.shape[1], bool)
            keep[columns] = True
            hit &= keep[coo.col]
        first = np.flatnonzero(hit)[:1]
        return (coo.row[first[0]], coo.col[first[0]], coo.data[first[0]]) if len(first) else None
    every = columns is None or len(columns) == X.shape[1]  # columns are sorted and distinct: all of them
    hit = bad(X if every else X[:, columns])
    if not hit.any():  # the usual case, checked without collecting positions
        return None
    found = np.argwhere(hit)
    row, col = found[0]
    col = col if every else columns[col]
    return row, col, X[row, col]


# ------------------------------------------------------------------ record ids

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SEEDS = (np.uint64(0x2545F4914F6CDD1D), np.uint64(0x5851F42D4C957F2D))  # two independent 64-bit hashes


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wrapping arithmetic)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _entry_hashes(columns: np.ndarray, data: np.ndarray, seed: np.uint64) -> np.ndarray:
    """One 64-bit hash per non-zero entry (column, value as float64 bits)."""
    bits = np.ascontiguousarray(data, dtype=np.float64).view(np.uint64)
    return _mix(_mix(bits ^ seed) ^ columns.astype(np.uint64))


def _csr_ids(X, extra: np.ndarray | None) -> np.ndarray:
    X = as_csr(X)
    ids = np.empty((X.shape[0], 2), dtype=np.uint64)
    for k, seed in enumerate(_SEEDS):
        total = np.concatenate([[np.uint64(0)], np.cumsum(_entry_hashes(X.indices, X.data, seed), dtype=np.uint64)])
        ids[:, k] = total[X.indptr[1:]] - total[X.indptr[:-1]]  # a row's sum of its entries: order-free, wrapping
        if extra is not None:  # one more column (index d) per row, e.g. the label: (x, y) pairs are compared
            extra = np.asarray(extra, dtype=np.float64)
            added = _entry_hashes(np.full(len(extra), X.shape[1]), extra, seed)
            ids[:, k] += np.where(extra != 0, added, np.uint64(0))  # a zero is absent, as in the matrix
    return ids


def row_ids(X, extra: np.ndarray | None = None) -> np.ndarray:
    """One 128-bit id per row (numpy ``V16`` values: comparable, sortable, ``np.isin``-able): a hash of the
    row's non-zero (column, value) pairs, so the same vector gets the same id dense or sparse, and two
    different vectors the same id with probability about 2**-128 per pair. ``extra``: one more value per
    row (a label) taken as part of the record. Dense input is hashed in bounded blocks."""
    if sparse.issparse(X):
        ids = _csr_ids(X, extra)
    else:
        X = np.asarray(X)
        X = X.reshape(len(X), -1)
        step = batch_rows(X.shape[1])
        blocks = [_csr_ids(sparse.csr_matrix(X[i:i + step]), None if extra is None else extra[i:i + step])
                  for i in range(0, len(X), step)]
        ids = np.concatenate(blocks) if blocks else np.zeros((0, 2), np.uint64)
    return np.ascontiguousarray(ids).view("V16").ravel()
