"""The black-box interface: ``predict_proba(X) -> probabilities``, query accounting, and the one answer check.

Attacks only ever hold a ``CountingTarget``. It forwards to a backend (a fitted
local model, a defended model, an HTTP client, a user's function) and books every record asked
to the current stage. A backend that serves some answers from a cache exposes
``records_sent`` (records actually sent to the service); the difference is
booked as cached, i.e. free. Every answer passes ``check_answers`` whatever the backend: shape (n, K) for the n
records asked and the K classes, finite values in [0, 1], rows summing to 1 (or to what an output defense
allows) within ``SUM_TOLERANCE``; a model answering logits or scores stops the audit in one line instead of
giving a wrong verdict.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

import numpy as np

from socinf.data.splits import Splits
from socinf.errors import TargetAnswerError
from socinf.sparse import is_sparse, to_format

SUM_TOLERANCE = 1e-3  # float noise on a row sum (float32 models, JSON round trips)


def check_answers(probs, n: int, n_classes: int, row_sums: tuple[float, float] = (1.0, 1.0),
                  where: str = "predict_proba", error: type = TargetAnswerError,
                  tolerance: float = SUM_TOLERANCE) -> np.ndarray:
    """``probs`` as a float64 (n, n_classes) matrix of probabilities whose rows sum into ``row_sums`` (within
    ``tolerance``), or one ``error`` line saying what is wrong and what a model must return."""
    try:
        raw = np.asarray(probs)
        numeric = raw.dtype.kind in "fiu"
        probs = raw.astype(np.float64) if numeric else None
    except (TypeError, ValueError):
        numeric = False
    if not numeric:  # strings (even "0.5"), objects, ragged rows: not an answer of numbers
        raise error(f"{where}: answered values that are not numbers; expected an array of shape ({n}, {n_classes}), "
                    "one probability per class")
    if probs.ndim != 2 or probs.shape[0] != n:
        raise error(f"{where}: answered shape {list(probs.shape)} for the {n} records asked; expected ({n}, "
                    f"{n_classes}): one row per record, one probability per class")
    if probs.shape[1] != n_classes:
        raise error(f"{where}: answers have {probs.shape[1]} columns, but the labels name {n_classes} classes; "
                    "expected one probability per class")
    bad = ~np.isfinite(probs)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise error(f"{where}: answers hold NaN or infinity (record {row}); expected probabilities in [0, 1]")
    outside = (probs < 0) | (probs > 1 + tolerance)
    if outside.any():
        row, col = map(int, np.argwhere(outside)[0])
        raise error(f"{where}: answers hold {probs[row, col]:.4g} (record {row}); expected probabilities in [0, 1]: "
                    "predict_proba must return probabilities (logits or scores? apply a softmax)")
    sums = probs.sum(axis=1)
    low, high = row_sums
    off = (sums < low - tolerance) | (sums > high + tolerance)
    if off.any():
        row = int(np.argmax(off))
        near_one = abs(low - 1) <= 1e-3 and abs(high - 1) <= 1e-3
        expected = "1" if near_one else f"{max(low, 0.0):.4g} to {high:.4g}"
        raise error(f"{where}: rows sum to {sums[row]:.4g}, not {expected} (record {row}): predict_proba must "
                    "return probabilities (softmax missing?)")
    return probs


class BlackBox(Protocol):
    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


@dataclass
class QueryLedger:
    """Records asked of the target, per stage: ``sent`` cost queries, ``cached`` were free."""

    sent: dict[str, int] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)

    def book(self, stage: str, sent: int, cached: int = 0) -> None:
        self.sent[stage] = self.sent.get(stage, 0) + int(sent)
        self.cached[stage] = self.cached.get(stage, 0) + int(cached)

    def as_dict(self) -> dict:
        stages = sorted(set(self.sent) | set(self.cached))
        return {
            "per_stage": {s: {"sent": self.sent.get(s, 0), "cached": self.cached.get(s, 0)} for s in stages},
            "sent": sum(self.sent.values()),
            "cached": sum(self.cached.values()),
            "total": sum(self.sent.values()) + sum(self.cached.values()),
        }


class CountingTarget:
    """What the attacker sees: class count, input width, and ``predict_proba``.

    ``sparse``: the format every query reaches the backend in (True: ``scipy.sparse`` CSR, False: dense, None:
    as asked). An audit's records fix it, so a model sees synthetic records in the format it answers the
    evaluation records in (XGBoost reads an absent sparse entry as missing, a dense 0 as a value)."""

    def __init__(self, backend: BlackBox, n_classes: int, n_features: int, ledger: QueryLedger | None = None,
                 row_sums: tuple[float, float] = (1.0, 1.0), name: str | None = None, sparse: bool | None = None):
        self._backend = backend
        self.sparse = sparse
        self.name = name or type(backend).__name__  # how answer errors name the model
        self.n_classes = n_classes
        self.n_features = n_features
        self.row_sums = row_sums  # what a row of answers may sum to (an output defense coarsens them)
        self.ledger = ledger if ledger is not None else QueryLedger()
        self._stage = "unassigned"

    @property
    def current_stage(self) -> str:
        return self._stage

    @contextmanager
    def stage(self, name: str) -> Iterator["CountingTarget"]:
        previous, self._stage = self._stage, name
        try:
            yield self
        finally:
            self._stage = previous

    def predict_proba(self, X) -> np.ndarray:
        X = to_format(X, self.sparse)
        if X.shape[0] == 0:
            return np.zeros((0, self.n_classes))
        before = getattr(self._backend, "records_sent", None)
        where = f"{self.name}.predict_proba"
        try:
            answers = self._backend.predict_proba(X)
        except (TypeError, ValueError) as exc:
            if is_sparse(X) and "sparse" in str(exc).lower():  # a model that takes dense input only
                raise TargetAnswerError(f"{where}: does not take sparse records ({str(exc).splitlines()[0][:120]}); "
                                        "pass the records as dense arrays") from None
            raise
        probs = check_answers(answers, X.shape[0], self.n_classes, self.row_sums, where)
        after = getattr(self._backend, "records_sent", None)
        n = X.shape[0]
        sent = n if before is None else after - before
        self.ledger.book(self._stage, sent, n - sent)
        return probs

    def book_cached(self, n: int) -> None:
        """Answers reused from the stage cache: asked, but not paid for again."""
        self.ledger.book(self._stage, 0, n)


@dataclass
class OpenedTarget:
    target: CountingTarget
    key: str  # content hash identifying this target's answers (for the stage cache)
    report: dict  # name, train/test accuracy, overfitting gap, defense details
    splits: Splits  # the membership truth the evaluator uses (a remote server's own split)
    query_stats: Callable[[], dict] = dict  # extra query figures (budget, HTTP requests), read after the last query
