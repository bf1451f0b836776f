"""What every membership attack receives, and the interface it implements.

An attack is fitted with the black-box target and the attacker's own
knowledge, then scores target answers: ``score(probs, labels)`` returns one
membership score per record (higher = more likely a member), and records with
``score >= threshold`` are called members. Thresholds are chosen on
attacker-side data only, never on evaluation members.

What the attacks may draw on is the threat model (``knowledge.threat``): ``attacker`` (the paper's outsider)
holds only its population ``X_aux``; ``owner`` (the auditor's worst case, Carlini et al. 2022) also holds every
other record of the owner (``X_owner``: the members and held-out records that are not evaluated, and the
population) as the pool for reference and shadow models. Neither is ever told which of those records trained
the target.

An attack with ``needs_candidates = True`` (LiRA, RMIA: they compare the
target with their own reference models record by record) is fitted with
``fit(target, knowledge, ctx, candidates=(X, y))``: the records ``score`` will
be given answers on, in that order, never their membership.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

import numpy as np

from socinf.cache import StageCache
from socinf.targets.base import CountingTarget


THREATS = ("attacker", "owner")  # threat=: who audits (socinf run's default attacker, socinf.audit's owner)
PAPER_THREAT = "attacker"  # the paper's outsider: socinf run's default, unmarked in every report table


@dataclass
class AttackerKnowledge:
    """The attacker's auxiliary population (disjoint from the target's members) and the input format; under
    ``threat="owner"`` also the owner's records outside the evaluation set (``X_owner``, ``y_owner``)."""

    X_aux: np.ndarray
    y_aux: np.ndarray
    n_classes: int
    n_features: int
    target_size: int | None = None  # the target's training-set size, if known (reference models match it)
    threat: str = "attacker"  # attacker | owner (THREATS)
    X_owner: np.ndarray | None = None  # threat=owner: every owner record but the evaluation records (unlabelled
    y_owner: np.ndarray | None = None  # as to membership: members not evaluated, held-out records, population)

    def owner_records(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) the owner's reference and shadow models draw on besides the evaluation records."""
        if self.X_owner is None:
            return np.zeros((0, self.n_features)), np.zeros(0, int)
        return self.X_owner, np.asarray(self.y_owner, dtype=int)


@dataclass
class AttackContext:
    seed: int
    threads: int = 1
    cache: StageCache = field(default_factory=lambda: StageCache(None))
    data_key: str = ""  # content hash of dataset config + split seed
    target_key: str = ""  # content hash identifying the target's answers
    timings: dict[str, float] = field(default_factory=dict)
    progress: Callable[[str, int], Callable[[int, int], None]] | None = None
    reference_jobs: object = None  # where reference models train: None = here, `threads` at a time, or a
    # socinf.attacks.reference_jobs.ReferenceJobs (launcher=slurm: submitit jobs)
    models: dict = field(default_factory=dict)  # reference models fitted in this run, by cache key: the attacks
    # share them even with the stage cache off

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Time ``stage`` (``timings``) and, on a terminal, show it as a progress line with its elapsed time."""
        start = time.perf_counter()
        tick = self.progress(stage.replace("_", " "), None) if self.progress else None
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start
            if tick is not None:
                tick(1, 1)


def check_fitted(attack, attribute: str) -> None:
    """scikit-learn's convention: using an attack before ``fit`` is a NotFittedError naming the fix."""
    if not hasattr(attack, attribute):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"this {type(attack).__name__} is not fitted yet; call fit(target, knowledge, ctx) first")


class MembershipAttack(Protocol):
    name: str
    threshold: float

    def fit(self, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext) -> dict: ...

    def score(self, probs: np.ndarray, labels: np.ndarray) -> np.ndarray: ...
