"""Records shared between the evaluation members, the evaluation non-members and the attacker's population.

A black box answers identical inputs identically, so a member whose exact feature vector is also among the
non-members cannot be told apart by any attack (``metrics.collision_ceiling`` measures what that costs).
``record_overlap`` counts such exact duplicates for the result (records compared by a hash of their non-zeros,
dense or sparse: ``socinf.sparse.row_ids``); ``check_distinct_sets`` refuses the case where
two sets are the same records altogether (the same rows with the same labels, in any order), which makes an
audit meaningless rather than merely hard.
"""
from __future__ import annotations

import numpy as np

from socinf.errors import ConfigError
from socinf.sparse import row_ids


def _shared(a, b) -> int:
    """Rows of ``a`` whose exact vector occurs in ``b`` (dense or sparse; ``socinf.sparse.row_ids``)."""
    if not a.shape[0] or b is None or not b.shape[0]:
        return 0
    return int(np.isin(row_ids(a), row_ids(b)).sum())


def record_overlap(X_members, X_nonmembers, X_population) -> dict:
    """How many rows of each set have an exact twin (same feature vector) in another."""
    return {"members_in_nonmembers": _shared(X_members, X_nonmembers),
            "nonmembers_in_members": _shared(X_nonmembers, X_members),
            "members_in_population": _shared(X_members, X_population),
            "nonmembers_in_population": _shared(X_nonmembers, X_population)}


def _same_records(X_a, y_a, X_b, y_b) -> bool:
    if X_a.shape != X_b.shape:
        return False
    ids_a, ids_b = row_ids(X_a, np.asarray(y_a)), row_ids(X_b, np.asarray(y_b))
    return bool(np.array_equal(np.sort(ids_a), np.sort(ids_b)))


def check_distinct_sets(X_members, y_members, X_nonmembers, y_nonmembers, X_population=None, y_population=None) -> None:
    """One ConfigError line when the members are the non-members, or the population is the members."""
    if _same_records(X_members, y_members, X_nonmembers, y_nonmembers):
        raise ConfigError(f"members and nonmembers are the same {len(y_members)} records (rows and labels); the "
                          "audit compares records the model trained on with records it never saw")
    if X_population is not None and X_population.shape[0] and _same_records(X_members, y_members, X_population, y_population):
        raise ConfigError(f"population is the same {len(y_members)} records as the members; the attacker's "
                          "population must be records the model did not train on (disjoint from the members)")
