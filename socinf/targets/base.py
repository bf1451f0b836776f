"""The black-box interface: ``predict_proba(X) -> probabilities``, and query accounting.

Attacks only ever hold a ``CountingTarget``. It forwards to a backend (a fitted
local model, a defended model, an HTTP client) and books every record asked
to the current stage. A backend that serves some answers from a cache exposes
``records_sent`` (records actually sent to the service); the difference is
booked as cached, i.e. free.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

import numpy as np

from socinf.data.splits import Splits


PROTOCOLS = ("socinf", "v2")  # target.protocol: socinf serve's own API | the Open Inference Protocol (v2_client)


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
    """What the attacker sees: class count, input width, and ``predict_proba``."""

    def __init__(self, backend: BlackBox, n_classes: int, n_features: int, ledger: QueryLedger | None = None):
        self._backend = backend
        self.n_classes = n_classes
        self.n_features = n_features
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

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if len(X) == 0:
            return np.zeros((0, self.n_classes))
        before = getattr(self._backend, "records_sent", None)
        probs = np.asarray(self._backend.predict_proba(X), dtype=np.float64)
        after = getattr(self._backend, "records_sent", None)
        sent = len(X) if before is None else after - before
        self.ledger.book(self._stage, sent, len(X) - sent)
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
