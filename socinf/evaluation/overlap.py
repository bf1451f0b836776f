"""Records shared between the evaluation members, the evaluation non-members and the attacker's population.

A black box answers identical inputs identically, so a member whose exact feature vector is also among the
non-members cannot be told apart by any attack (``metrics.collision_ceiling`` measures what that costs).
``record_overlap`` counts such exact duplicates for the result; ``check_distinct_sets`` refuses the case where
two sets are the same records altogether (the same rows with the same labels, in any order), which makes an
audit meaningless rather than merely hard.
"""
from __future__ import annotations

import numpy as np

from socinf.errors import ConfigError


def _row_ids(*arrays: np.ndarray) -> list[np.ndarray]:
    """One comparable id per row (its bytes as float64), consistent across ``arrays``."""
    width = arrays[0].shape[1] if arrays[0].ndim == 2 else 0
    dtype = np.dtype((np.void, 8 * max(width, 1)))
    out = []
    for X in arrays:
        X = np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(len(X), -1))
        out.append(X.view(dtype).ravel() if width else np.zeros(len(X), dtype=dtype))
    return out


def _shared(a: np.ndarray, b: np.ndarray) -> int:
    """Rows of ``a`` whose exact vector occurs in ``b``."""
    if not len(a) or not len(b):
        return 0
    ids_a, ids_b = _row_ids(a, b)
    return int(np.isin(ids_a, ids_b).sum())


def record_overlap(X_members: np.ndarray, X_nonmembers: np.ndarray, X_population: np.ndarray | None) -> dict:
    """How many rows of each set have an exact twin (same feature vector) in another."""
    pop = X_population if X_population is not None and len(X_population) else None
    return {"members_in_nonmembers": _shared(X_members, X_nonmembers),
            "nonmembers_in_members": _shared(X_nonmembers, X_members),
            "members_in_population": _shared(X_members, pop) if pop is not None else 0,
            "nonmembers_in_population": _shared(X_nonmembers, pop) if pop is not None else 0}


def _same_records(X_a, y_a, X_b, y_b) -> bool:
    if len(X_a) != len(X_b) or X_a.shape[1:] != X_b.shape[1:]:
        return False
    labelled = [np.column_stack([np.asarray(X, dtype=np.float64).reshape(len(X), -1), np.asarray(y, dtype=np.float64)])
                for X, y in ((X_a, y_a), (X_b, y_b))]
    ids_a, ids_b = _row_ids(*labelled)
    return bool(np.array_equal(np.sort(ids_a), np.sort(ids_b)))


def check_distinct_sets(X_members, y_members, X_nonmembers, y_nonmembers, X_population=None, y_population=None) -> None:
    """One ConfigError line when the members are the non-members, or the population is the members."""
    if _same_records(X_members, y_members, X_nonmembers, y_nonmembers):
        raise ConfigError(f"members and nonmembers are the same {len(y_members)} records (rows and labels); the "
                          "audit compares records the model trained on with records it never saw")
    if X_population is not None and len(X_population) and _same_records(X_members, y_members, X_population, y_population):
        raise ConfigError(f"population is the same {len(y_members)} records as the members; the attacker's "
                          "population must be records the model did not train on (disjoint from the members)")
