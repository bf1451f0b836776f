"""Stage 1 — synthetic data X_s (paper III.B).

``statistics`` (III.B.1): the attacker knows population statistics, here the
per-feature marginals and pairwise co-occurrences of its auxiliary records
(never the target's members). Records are drawn by Metropolis MCMC from the
pairwise binary model those statistics define, then a noisy copy (a few bits
flipped) is kept when it is new (``socinf.attacks.pairwise``: on the non-zeros,
never a d x d matrix). ``format`` (III.B.2): only the input format is
known. Walks start from records of that format (sparse keyword vectors, a
share ``start_density`` of keywords present: an attacker knows a short post
holds few keywords; uniformly random vectors would set half of them) and
change a few features per step, drawn so additions and removals balance at
that density. ``accept=new`` (the paper, literally) keeps every new record;
``accept=confidence`` is Shokri et al.'s hill-climb (S&P 2017, Algorithm 1:
k_max -> k_min changed features, a rejection counter, a confidence floor).
``population`` (IV.B.4, the paper's experiments): X_s is the attacker's real
auxiliary records; nothing is generated.

Synthetic records come in the audit's format: a sparse population or a sparse target (``CountingTarget.sparse``)
gives CSR records, else dense uint8 arrays. A walk's chains are a dense block of 32 per class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from socinf.attacks.pairwise import synthesize_statistics
from socinf.attacks.records import RecordSet
from socinf.errors import ConfigError
from socinf.settings import Interval, Options
from socinf.sparse import non_binary_columns
from socinf.targets.base import CountingTarget


SYNTHESES = ("statistics", "format", "population")
GENERATIVE = ("statistics", "format")  # the syntheses that make new records (population reuses real ones)
ACCEPT_RULES = ("new", "confidence")  # format: the paper's literal rule | Shokri et al.'s hill-climb


@dataclass
class SynthesisConfig:
    """Stage 1's settings (``conf/synthesis/<name>.yaml`` chooses ``name`` and overrides these defaults)."""

    name: str = "statistics"  # statistics | format | population
    n_records: int = 4000
    burn_in: int = 400  # statistics: MCMC steps per chain before a record is taken
    noise_flips: int = 1  # statistics: features flipped in the noisy copy of a sample
    # format: walks start from records of the known format, sparse keyword vectors with this share of keywords
    # present (~10 of 703 on the overfitting set, 1-3 of 200 on Tweet; a short post holds few keywords).
    start_density: float = 0.015
    accept: str = "new"  # format: new (the paper: keep every new record) | confidence (Shokri et al.)
    n_flip: int = 3  # format, accept=new: features changed per proposal
    k_max: int = 8  # format, accept=confidence: features changed per proposal at first ...
    k_min: int = 1  # ... halved down to k_min after rej_max rejections in a row
    rej_max: int = 10
    conf_min: float = 0.5  # a record is kept only above this confidence in its chain's class
    max_steps: int = 200  # accept=confidence: a chain that found nothing in this many queries restarts
    max_proposals: int = 200000  # format: hard bound on target queries / proposals of the walk

    constraints: ClassVar[dict] = {
        "name": [Options(SYNTHESES)], "n_records": [Interval(int, 1, 10_000_000)],
        "burn_in": [Interval(int, 0, 1_000_000)], "noise_flips": [Interval(int, 0, 100_000)],
        "start_density": [Interval(float, 0, 1, "neither")], "accept": [Options(ACCEPT_RULES)],
        "n_flip": [Interval(int, 1, 100_000)], "k_max": [Interval(int, 1, 100_000)], "k_min": [Interval(int, 1, 100_000)],
        "rej_max": [Interval(int, 0, 1_000_000)], "conf_min": [Interval(float, 0, 1, "left")],
        "max_steps": [Interval(int, 1, 10**9)], "max_proposals": [Interval(int, 1, 10**9)],
    }

    def check_together(self, group: str) -> None:
        if self.k_min > self.k_max:
            raise ConfigError(f"{group}.k_min={self.k_min}: must be <= {group}.k_max={self.k_max}")


def format_starts(n: int, d: int, density: float, rng) -> np.ndarray:
    """Records that respect the known format: sparse binary vectors, each feature on with ``density``."""
    return (rng.random((n, d)) < density).astype(np.uint8)


def change_features(X: np.ndarray, k, density: float, rng) -> np.ndarray:
    """Change ``k`` features per row (``k``: int or one per row), drawn as a resample from the format's
    prior conditioned on a change: a present keyword is picked with weight 1 - density, an absent one with
    weight density, so additions and removals balance at the start density instead of filling the vector."""
    k = np.broadcast_to(np.asarray(k), (len(X),))
    weight = np.where(X > 0, 1.0 - density, density)
    keys = np.log(weight) - np.log(-np.log(rng.random(X.shape)))  # Gumbel top-k = weighted, no replacement
    top = _largest(keys, int(k.max()))
    chosen = np.zeros(X.shape, dtype=bool)
    np.put_along_axis(chosen, top, np.arange(top.shape[1])[None, :] < k[:, None], 1)
    return np.where(chosen, 1 - X, X).astype(np.uint8)


def _largest(keys: np.ndarray, k: int) -> np.ndarray:
    """Per row, the columns of the ``k`` largest keys, largest first (a partition, then a sort of k: the same
    as sorting the whole row, at a cost in d rather than d log d)."""
    if k >= keys.shape[1]:
        return np.argsort(-keys, axis=1)
    top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, 1), axis=1), 1)


def format_walk(target: CountingTarget, cfg, rng, chains_per_class: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Records the random walks produce, and the class each walk was generating for (``cfg``: SynthesisConfig)."""
    d, k = target.n_features, target.n_classes
    chain_class = np.repeat(np.arange(k), chains_per_class)
    current = format_starts(len(chain_class), d, cfg.start_density, rng)
    kept = RecordSet(d, cfg.n_records)
    if cfg.accept == "confidence":
        return _hill_climb(target, cfg, current, chain_class, kept, rng)
    walk_class: list[int] = []
    proposals = 0
    while len(kept) < cfg.n_records and proposals < cfg.max_proposals:  # the paper: keep every new record
        cand = change_features(current, cfg.n_flip, cfg.start_density, rng)
        proposals += len(cand)
        new = np.array([kept.is_new(np.flatnonzero(row)) for row in cand])
        current[new] = cand[new]
        walk_class.extend(chain_class[new][: kept.add_dense(cand[new])])
    return kept.matrix(bool(target.sparse)), np.array(walk_class, dtype=int)


def _hill_climb(target: CountingTarget, cfg, start: np.ndarray, chain_class: np.ndarray, kept: RecordSet, rng):
    """Shokri et al. (S&P 2017) Algorithm 1, one chain per row: a proposal is accepted when the target's
    confidence in the chain's class does not drop; an accepted proposal above ``conf_min`` that the target
    labels as the chain's class is kept with probability equal to that confidence, and the chain restarts;
    after ``rej_max`` rejections in a row the number of changed features halves (k_max -> k_min)."""
    rows = np.arange(len(chain_class))
    best, best_score = start.copy(), np.zeros(len(rows))
    k, rejected, steps = np.full(len(rows), cfg.k_max), np.zeros(len(rows), int), np.zeros(len(rows), int)
    proposal = start
    walk_class: list[int] = []
    proposals = 0
    while len(kept) < cfg.n_records and proposals < cfg.max_proposals:
        probs = target.predict_proba(proposal)
        proposals += len(rows)
        score = probs[rows, chain_class]
        accept = score >= best_score
        keep = accept & (score > cfg.conf_min) & (probs.argmax(1) == chain_class) & (rng.random(len(rows)) < score)
        walk_class.extend(chain_class[keep][: kept.add_dense(proposal[keep])])
        best[accept], best_score[accept], rejected[accept] = proposal[accept], score[accept], 0
        rejected[~accept] += 1
        shrink = rejected > cfg.rej_max
        k[shrink], rejected[shrink] = np.maximum(cfg.k_min, np.ceil(k[shrink] / 2)), 0
        steps += 1
        restart = keep | (steps >= cfg.max_steps)
        fresh = format_starts(int(restart.sum()), proposal.shape[1], cfg.start_density, rng)
        best[restart], best_score[restart], k[restart], rejected[restart], steps[restart] = fresh, 0.0, cfg.k_max, 0, 0
        proposal = change_features(best, k, cfg.start_density, rng)
        proposal[restart] = fresh  # a restarted chain first asks about its fresh start, as Algorithm 1 does
    return kept.matrix(bool(target.sparse)), np.array(walk_class, dtype=int)


def synthesize_format(target: CountingTarget, cfg, rng) -> np.ndarray:
    return format_walk(target, cfg, rng)[0]


def check_applies(name: str, X_aux) -> None:
    """statistics and format sample binary records: refuse numeric features rather than mangle them."""
    numeric = non_binary_columns(X_aux)
    if name in GENERATIVE and len(numeric):
        raise ConfigError(f"synthesis={name}: samples binary features, but {len(numeric)} feature column(s) "
                          f"(first: index {numeric[0]}) hold other values; use synthesis=population")


def synthesize(name: str, cfg, X_aux, target: CountingTarget, rng):
    """Dispatch on ``synthesis.name``; returns X_s, distinct records in the audit's format (CSR or uint8)."""
    check_applies(name, X_aux)
    if name == "population":
        return X_aux.copy()
    if name == "statistics":
        return synthesize_statistics(X_aux, cfg.n_records, cfg.burn_in, cfg.noise_flips, rng)
    if name == "format":
        return synthesize_format(target, cfg, rng)
    raise ConfigError(f"synthesis={name!r}: expected one of {', '.join(SYNTHESES)}")
