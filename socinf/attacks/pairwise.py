"""Stage 1, ``synthesis=statistics`` (paper III.B.1): records drawn from the population's pairwise statistics.

The attacker knows the per-feature marginals and pairwise co-occurrences of its auxiliary records (never the
target's members). They define a pairwise binary model: a bias per feature (its logit marginal) and a
coupling per pair (the log odds ratio of their co-occurrence, smoothed, clipped, shrunk by sqrt(d)).
Records are drawn by Metropolis MCMC from it, then a noisy copy (a few features flipped) is kept when new.

Nothing here is d x d: the co-occurrence counts are the non-zeros of the sparse product X^T X, and a
coupling is computed from them when a step needs it, for the proposed feature against the features the
record holds (a pair that never co-occurs has a count of 0 and still its coupling, as a dense matrix would
hold it). A chain is the sorted set of its present features. Memory grows with the records' non-zeros and
the co-occurring pairs, so 50,000 keywords cost what their non-zeros cost.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from socinf.attacks.records import RecordSet, present_rows
from socinf.sparse import is_sparse

SMOOTHING, CLIP = 0.5, 4.0
TABLE_ENTRIES = 4_000_000  # up to this many pairs (2,000 features, 32 MB) the couplings are tabulated once
# Up to this many chains x features (4,000 chains of 4,000 features) a boolean matrix says at once whether a
# chain holds the proposed feature, instead of a search of every chain's features each step.
PRESENCE_BYTES = 16 << 20


class PairwiseModel:
    """Biases and couplings of the pairwise binary model of the 0/1 records ``X`` (dense or sparse)."""

    def __init__(self, X, smoothing: float = SMOOTHING, clip: float = CLIP):
        X = sparse.csr_matrix(X, dtype=np.float64)
        self.n, self.d = X.shape
        self.smoothing, self.clip = smoothing, clip
        pairs = (X.T @ X).tocoo()  # co-occurrence counts of the pairs that co-occur (exact in float64)
        keys = pairs.row.astype(np.int64) * self.d + pairs.col
        order = np.argsort(keys)
        self._keys, self._counts = keys[order], pairs.data[order]
        self.p1 = np.asarray(X.sum(axis=0)).ravel()
        m = (self.p1 + smoothing) / (self.n + 2 * smoothing)
        self.bias = np.log(m / (1 - m))
        self._table = None
        if self.d * self.d <= TABLE_ENTRIES:  # a lookup per step instead of a search: the same values
            j, k = np.divmod(np.arange(self.d * self.d, dtype=np.int64), self.d)
            self._table = self.couplings(j, k).reshape(self.d, self.d)

    def co_occurrences(self, j: np.ndarray, k: np.ndarray) -> np.ndarray:
        """How many records hold both feature ``j`` and feature ``k`` (elementwise)."""
        query = j.astype(np.int64) * self.d + k
        pos = np.minimum(np.searchsorted(self._keys, query), max(len(self._keys) - 1, 0))
        found = (self._keys[pos] == query) if len(self._keys) else np.zeros(len(query), bool)
        return np.where(found, self._counts[pos] if len(self._keys) else 0.0, 0.0)

    def couplings(self, j: np.ndarray, k: np.ndarray) -> np.ndarray:
        """W[j, k], elementwise: log((p11 + s)(p00 + s)) - log((p10 + s)(p01 + s)), clipped to +-clip and
        divided by sqrt(d) (many weak couplings add up); 0 on the diagonal."""
        if self._table is not None:
            return self._table[j, k]
        s, p11 = self.smoothing, self.co_occurrences(j, k)
        p10, p01 = self.p1[j] - p11, self.p1[k] - p11
        p00 = self.n - p11 - p10 - p01
        W = np.log((p11 + s) * (p00 + s)) - np.log((p10 + s) * (p01 + s))
        W = np.clip(W, -self.clip, self.clip) / max(self.d ** 0.5, 1.0)
        return np.where(j == k, 0.0, W)


def _padded(rows: list[np.ndarray]) -> np.ndarray:
    """Chains as an (n, m) matrix of present features, -1 where a chain holds fewer than m."""
    width = max([len(r) for r in rows] + [1])
    P = np.full((len(rows), width), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        P[i, :len(r)] = r
    return P


def _flip(P: np.ndarray, rows: np.ndarray, j: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Feature ``j[i]`` of chain ``rows[i]`` turned off where ``on``, on elsewhere (a column added if full)."""
    off_rows, off_j = rows[on], j[on]
    P[off_rows, np.argmax(P[off_rows] == off_j[:, None], axis=1)] = -1
    add_rows, add_j = rows[~on], j[~on]
    if len(add_rows) and not (P[add_rows] < 0).any(axis=1).all():
        P = np.hstack([P, np.full((len(P), 1), -1, dtype=np.int64)])
    P[add_rows, np.argmax(P[add_rows] < 0, axis=1)] = add_j
    return P


def _presence(P: np.ndarray, d: int) -> np.ndarray | None:
    """The chains as an (n, d) boolean matrix, where it fits in ``PRESENCE_BYTES`` (else None)."""
    if len(P) * d > PRESENCE_BYTES:
        return None
    present = np.zeros((len(P), d), dtype=bool)
    r, c = np.nonzero(P >= 0)
    present[r, P[r, c]] = True
    return present


def metropolis(model: PairwiseModel, starts: list[np.ndarray], steps: int, rng) -> list[np.ndarray]:
    """``steps`` Metropolis steps of every chain (one proposed flip of a uniformly drawn feature each)."""
    P = _padded(starts)
    n, every = len(P), np.arange(len(P))
    present = _presence(P, model.d)
    for _ in range(steps):
        j = rng.integers(0, model.d, n)
        on = present[every, j] if present is not None else (P == j[:, None]).any(axis=1)
        r, c = np.divmod(np.flatnonzero(P >= 0), P.shape[1])  # row-major, as np.nonzero: the same sums
        field = model.bias[j] + np.bincount(r, weights=model.couplings(j[r], P[r, c]), minlength=n)
        delta = np.where(on, -field, field)  # log pi(flipped) - log pi(current)
        accept = np.log(rng.random(n)) < delta
        rows, flipped = every[accept], j[accept]
        P = _flip(P, rows, flipped, on[accept])
        if present is not None:
            present[rows, flipped] = ~on[accept]
    return [np.sort(row[row >= 0]) for row in P]


def _noisy(rows: list[np.ndarray], flips: np.ndarray, d: int) -> list[np.ndarray]:
    """Each row with the features in its line of ``flips`` toggled (a feature drawn twice toggles once): the
    sorted features held exactly once by the row and its distinct flips, for all rows in one sort."""
    owners = np.arange(len(rows), dtype=np.int64)
    row_keys = np.repeat(owners, [len(row) for row in rows]) * d + np.concatenate([*rows, np.zeros(0, np.int64)])
    flip_keys = np.unique(np.repeat(owners, flips.shape[1]) * d + flips.ravel())
    keys, counts = np.unique(np.concatenate([row_keys, flip_keys]), return_counts=True)
    owner, feature = np.divmod(keys[counts == 1], d)
    return np.split(feature, np.cumsum(np.bincount(owner, minlength=len(rows)))[:-1])


def synthesize_statistics(X_aux, n_records: int, burn_in: int, noise_flips: int, rng, max_rounds: int = 20):
    """At most ``n_records`` distinct records (fewer when the space of sparse records runs out), in the format
    of ``X_aux``: CSR when it is sparse, else a dense uint8 array."""
    model = PairwiseModel(X_aux)
    pool = present_rows(X_aux)
    kept = RecordSet(model.d, n_records)
    for _ in range(max_rounds):
        starts = [pool[i] for i in rng.integers(0, len(pool), n_records)]
        sample = metropolis(model, starts, burn_in, rng)
        flips = rng.integers(0, model.d, (len(sample), noise_flips))
        kept.add(_noisy(sample, flips, model.d))
        if len(kept) >= n_records:
            break
    return kept.matrix(is_sparse(X_aux))
