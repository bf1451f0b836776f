"""Stage 1 — synthetic data X_s (paper III.B).

``statistics`` (III.B.1): the attacker knows population statistics, here the
per-feature marginals and pairwise co-occurrences of its auxiliary records
(never the target's members). Records are drawn by Metropolis MCMC from the
pairwise binary model those statistics define, then a noisy copy (a few bits
flipped) is kept when it is new. ``format`` (III.B.2): only the input format is
known; a random walk from a uniformly random record flips a few features per
step and keeps a candidate that is new (``accept=new``) or that also raises
the target's confidence in the walk's class (``accept=confidence``, Shokri et
al.). ``population`` (IV.B.4, the paper's experiments): X_s is the attacker's
real auxiliary records; nothing is generated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socinf.errors import ConfigError
from socinf.targets.base import CountingTarget


SYNTHESES = ("statistics", "format", "population")
ACCEPT_RULES = ("new", "confidence")  # format: the paper's literal rule | Shokri et al.'s hill-climb


@dataclass
class SynthesisConfig:
    """Stage 1's settings (``conf/synthesis/<name>.yaml`` chooses ``name`` and overrides these defaults)."""

    name: str = "statistics"  # statistics | format | population
    n_records: int = 4000
    burn_in: int = 400  # statistics: MCMC steps per chain before a record is taken
    noise_flips: int = 1  # statistics: features flipped in the noisy copy of a sample
    n_flip: int = 3  # format: features changed per proposal
    accept: str = "new"  # format: new (paper) | confidence (Shokri et al.)
    max_proposals: int = 200000  # format: hard bound on the random walk


def pairwise_model(X: np.ndarray, smoothing: float = 0.5, clip: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Bias (logit marginals) and symmetric couplings (log odds ratios of co-occurrence)."""
    X = X.astype(np.float64)
    n = len(X)
    p11 = X.T @ X
    p1 = np.diag(p11)
    p10 = p1[:, None] - p11
    p01 = p1[None, :] - p11
    p00 = n - p11 - p10 - p01
    W = np.log((p11 + smoothing) * (p00 + smoothing)) - np.log((p10 + smoothing) * (p01 + smoothing))
    W = np.clip(W, -clip, clip) / max(X.shape[1] ** 0.5, 1.0)  # shrink: many weak couplings add up
    np.fill_diagonal(W, 0.0)
    m = (p1 + smoothing) / (n + 2 * smoothing)
    return np.log(m / (1 - m)), W


def _metropolis(bias: np.ndarray, W: np.ndarray, start: np.ndarray, steps: int, rng) -> np.ndarray:
    X = start.astype(np.float64).copy()
    rows = np.arange(len(X))
    for _ in range(steps):
        j = rng.integers(0, X.shape[1], len(X))
        field = bias[j] + np.einsum("nd,nd->n", X, W[j])
        delta = np.where(X[rows, j] > 0, -field, field)  # log pi(flipped) - log pi(current)
        accept = np.log(rng.random(len(X))) < delta
        X[rows[accept], j[accept]] = 1.0 - X[rows[accept], j[accept]]
    return X.astype(np.uint8)


def _keep_new(candidates: np.ndarray, seen: set[bytes], out: list[np.ndarray], limit: int) -> None:
    for row in candidates:
        key = row.tobytes()
        if key not in seen and len(out) < limit:
            seen.add(key)
            out.append(row)


def synthesize_statistics(X_aux: np.ndarray, n_records: int, burn_in: int, noise_flips: int, rng,
                          max_rounds: int = 20) -> np.ndarray:
    bias, W = pairwise_model(X_aux)
    seen: set[bytes] = set()
    out: list[np.ndarray] = []
    for _ in range(max_rounds):  # the space of distinct sparse records can run out; stop then
        start = X_aux[rng.integers(0, len(X_aux), n_records)]
        sample = _metropolis(bias, W, start, burn_in, rng)
        flips = rng.integers(0, X_aux.shape[1], (len(sample), noise_flips))
        noisy = sample.copy()
        np.put_along_axis(noisy, flips, 1 - np.take_along_axis(noisy, flips, 1), 1)
        _keep_new(noisy, seen, out, n_records)
        if len(out) >= n_records:
            break
    return np.array(out, dtype=np.uint8)


def format_walk(target: CountingTarget, n_records: int, n_flip: int, accept: str, max_proposals: int,
                rng, chains_per_class: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Records accepted by the random walks, and the class each walk was generating for."""
    if accept not in ACCEPT_RULES:
        raise ConfigError(f"synthesis.accept={accept!r}: expected new or confidence")
    d, k = target.n_features, target.n_classes
    chain_class = np.repeat(np.arange(k), chains_per_class)
    current = rng.integers(0, 2, (len(chain_class), d)).astype(np.uint8)
    score = target.predict_proba(current)[np.arange(len(current)), chain_class] if accept == "confidence" else None
    seen: set[bytes] = set()
    out: list[np.ndarray] = []
    walk_class: list[int] = []
    proposals = 0
    while len(out) < n_records and proposals < max_proposals:
        cand = current.copy()
        flips = rng.integers(0, d, (len(cand), n_flip))
        np.put_along_axis(cand, flips, 1 - np.take_along_axis(cand, flips, 1), 1)
        proposals += len(cand)
        new = np.array([row.tobytes() not in seen for row in cand])
        if accept == "confidence":
            cand_score = target.predict_proba(cand)[np.arange(len(cand)), chain_class]
            new &= cand_score >= score
            score = np.where(new, cand_score, score)
        current[new] = cand[new]
        before = len(out)
        _keep_new(cand[new], seen, out, n_records)
        walk_class.extend(chain_class[new][: len(out) - before])
    return np.array(out, dtype=np.uint8), np.array(walk_class, dtype=int)


def synthesize_format(target: CountingTarget, n_records: int, n_flip: int, accept: str, max_proposals: int,
                      rng) -> np.ndarray:
    return format_walk(target, n_records, n_flip, accept, max_proposals, rng)[0]


def check_applies(name: str, X_aux: np.ndarray) -> None:
    """statistics and format sample binary records: refuse numeric features rather than mangle them."""
    numeric = np.flatnonzero(~np.isin(X_aux, (0, 1)).all(axis=0))
    if name in ("statistics", "format") and len(numeric):
        raise ConfigError(f"synthesis={name}: samples binary features, but {len(numeric)} feature column(s) "
                          f"(first: index {numeric[0]}) hold other values; use synthesis=population")


def synthesize(name: str, cfg, X_aux: np.ndarray, target: CountingTarget, rng) -> np.ndarray:
    """Dispatch on ``synthesis.name``; returns X_s as a uint8 matrix of distinct records."""
    check_applies(name, X_aux)
    if name == "population":
        return X_aux.copy()
    if name == "statistics":
        return synthesize_statistics(X_aux, cfg.n_records, cfg.burn_in, cfg.noise_flips, rng)
    if name == "format":
        return synthesize_format(target, cfg.n_records, cfg.n_flip, cfg.accept, cfg.max_proposals, rng)
    raise ConfigError(f"synthesis={name!r}: expected one of {', '.join(SYNTHESES)}")
