"""Reference models: models of the target's training that LiRA, RMIA, and under ``threat=owner`` the threshold
attacks and Shadow training, compare the target with.

LiRA (Carlini et al., IEEE S&P 2022, Sec. IV) and RMIA (Zarifzadeh et al., ICML 2024, Sec. 3) compare the
target's answer on a record with the answers of models trained with or without it. ``reference_model``:
``target`` trains them with the target's algorithm and hyper-parameters (what Shadow training assumes),
``mlp`` with a generic MLP. ``reference_data``: ``population`` trains them on real labelled records;
``synthetic`` on records synthesized from the attacker's knowledge (``SynthesisConfig``, statistics | format,
paper III.B) labelled by the target's own answers (argmax of its probabilities; those queries are booked to the
``references`` stage), so the attack needs no real labelled record.

Two designs, by the threat model (``knowledge.threat``):

- ``attacker`` (the paper's outsider): the pool is the attacker's population. Offline, each reference trains on
  a random stratified subset of it ("OUT" for every evaluation candidate) as large as the target's training
  set where the pool allows (else half the pool). Online, each also trains on a random half of the
  candidates (Carlini et al.'s keep matrix: every candidate IN exactly half of them).
- ``owner`` (the auditor's worst case; Carlini et al.'s own setting): the pool is every record the owner holds
  (``knowledge.owner_records()`` plus the candidates). Each reference trains on a random subset the size of
  the target's training set: references ``2j`` and ``2j + 1`` split the candidates between them at random,
  so every candidate is IN for exactly half of an even number of references, and each fills up to the
  target's size with random records of the rest of the pool. Online attacks compare IN with OUT references;
  offline ones use the OUT references only. A reference depends on its index, not on how many are asked
  for, so 4 (the threshold attacks), 10 (Shadow training) and 64 (LiRA, RMIA) share one cached set.

Each model is cached (``StageCache``) under a content hash of its records, algorithm, parameters, seed and
index, and trained where ``ctx.reference_jobs`` says (``reference_jobs``: here ``threads`` at a time, or as
SLURM jobs). Querying the references costs no target query.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Optional

import numpy as np

from socinf.attacks.base import AttackContext, AttackerKnowledge
from socinf.attacks.reference_jobs import ReferenceData, ReferenceSpec, train_all
from socinf.attacks.synthesis import SynthesisConfig, check_applies, synthesize
from socinf.cache import content_key
from socinf.data.splits import stratified_cut
from socinf.errors import ConfigError
from socinf.owner.models import answers, float32
from socinf.settings import BOOLEAN, Interval, Options, settings_from
from socinf.sparse import is_sparse, like, row_ids, stack, to_format
from socinf.targets.base import CountingTarget

REFERENCE_MODELS = ("target", "mlp")
REFERENCE_DATA = ("population", "synthetic")
DEFAULT_REFERENCES = {"attacker": 16, "owner": 64}  # n_references=None, by threat model
EPS = 1e-12
TINY = np.finfo(np.float64).tiny  # the floor of a probability in a logit: 1.0 and 0.0 answers stay finite
N_CALIBRATION = 1000  # attacker-side records the threshold is chosen on
N_PSEUDO_TARGETS = 4  # references that play the target in turn for the threshold


@dataclass
class ReferenceConfig:
    """The reference models' settings (LiRAConfig and RMIAConfig add their own)."""

    n_references: Optional[int] = None  # None: 16 under threat=attacker, 64 under threat=owner
    reference_model: str = "target"  # target (its algorithm and hyper-parameters) | mlp
    reference_data: str = "population"  # population (real labelled records) | synthetic
    online: bool = False  # compare IN and OUT references (attacker: references also train on half the candidates)

    constraints: ClassVar[dict] = {
        "n_references": [None, Interval(int, 2, 100_000)], "reference_model": [Options(REFERENCE_MODELS)],
        "reference_data": [Options(REFERENCE_DATA)], "online": [BOOLEAN],
    }


def reference_count(n_references: int | None, threat: str) -> int:
    return DEFAULT_REFERENCES[threat] if n_references is None else int(n_references)


@dataclass
class References:
    """Fitted references, the pool they drew on (``pool_in[i, j]``: reference i trained on pool row j) and
    which candidates each trained on (``cand_in``, or None when none did)."""

    models: list
    X: Any  # dense or CSR, as the attacker's records
    y: np.ndarray
    target_probs: np.ndarray | None  # the target's answers on the pool (synthetic: already paid for)
    pool_in: np.ndarray
    cand_in: np.ndarray | None  # (n_references, n_candidates) IN mask
    report: dict


def true_class(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    return probs[np.arange(len(probs)), np.asarray(labels, dtype=int)]


def logit_confidence(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """phi = log p_y - log(sum_{j != y} p_j) in float64 (Carlini et al.'s statistic), each term floored at the
    smallest float64: a saturated answer (p_y exactly 1.0, the rest 0.0) gives a large finite phi, never NaN,
    and one whose other classes keep a float32 mass of 1e-20 is still told apart from one at 1e-10."""
    others = np.array(probs, dtype=np.float64)  # a copy: the other classes summed themselves, not 1 - p_y
    rows, labels = np.arange(len(others)), np.asarray(labels, dtype=int)
    p_y = others[rows, labels].copy()
    others[rows, labels] = 0.0
    return np.log(np.maximum(p_y, TINY)) - np.log(np.maximum(others.sum(axis=1), TINY))


def reference_answers(models: list, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n_references, n) true-class probabilities and logit confidences of every reference on (X, y)."""
    X = float32(X)
    probs = [answers(m, X) for m in models]
    return (np.stack([true_class(p, y) for p in probs]), np.stack([logit_confidence(p, y) for p in probs]))


def _pool(cfg: ReferenceConfig, synthesis, target: CountingTarget, knowledge: AttackerKnowledge,
          ctx: AttackContext) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    """(X, y, target answers or None, source key) the references are drawn from besides the candidates."""
    if cfg.reference_data == "population":
        if knowledge.threat == "owner":
            return (*knowledge.owner_records(), None, "owner")
        return knowledge.X_aux, knowledge.y_aux, None, "population"
    syn = settings_from(synthesis, SynthesisConfig, "synthesis")
    check_applies(syn.name, knowledge.X_aux)
    key = content_key("reference_data", ctx.data_key, asdict(syn), ctx.seed, ctx.target_key)

    def compute():
        before = target.ledger.as_dict()["sent"]
        X_s = synthesize(syn.name, syn, knowledge.X_aux, target, np.random.default_rng([ctx.seed, 23]))
        probs = target.predict_proba(X_s)
        return X_s, probs, target.ledger.as_dict()["sent"] - before

    with target.stage("references"):
        (X_s, probs, spent), hit = ctx.cache.get_or_compute("reference_data", key, compute)
        if hit:
            target.book_cached(spent)
    return X_s, probs.argmax(axis=1), probs, key


def _check_pool(cfg: ReferenceConfig, y: np.ndarray, n_classes: int, owner: bool) -> None:
    counts = np.bincount(y, minlength=n_classes)
    if counts.min() < 4:
        c = int(counts.argmin())
        whose = "the owner's" if owner else "the attacker's"
        raise ConfigError(f"method.reference_data={cfg.reference_data}: {whose} {len(y)} records hold "
                          f"{counts[c]} of class {c}; reference models need >= 4 per class (each trains on at "
                          "most half); give the attack more records (dataset.per_class, synthesis.n_records)")


def _online_keep(n_references: int, n_candidates: int, seed: int) -> np.ndarray:
    """Each candidate IN exactly half of the references (Carlini et al.'s keep matrix)."""
    rng = np.random.default_rng([seed, 31])
    return rng.random((n_references, n_candidates)).argsort(axis=0) < n_references // 2


def _digest(*arrays) -> str:
    """A content hash of ``arrays`` (dense, or sparse: by their rows' ids, the same as their dense form's)."""
    h = hashlib.sha256()
    for a in arrays:
        shape = a.shape
        a = row_ids(a) if is_sparse(a) or np.ndim(a) == 2 else np.ascontiguousarray(a)
        h.update(f"{a.dtype}{shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:24]


def _attacker_specs(n: int, y: np.ndarray, size: int, candidates, key_parts: tuple, seed: int) -> list[ReferenceSpec]:
    """The attacker's design: a stratified subset of its pool, plus (online) a keep-matrix half of the candidates."""
    keep, cand_key = None, None
    if candidates is not None:
        keep = _online_keep(n, len(candidates[1]), seed)
        cand_key = hashlib.sha256(row_ids(candidates[0]).tobytes() + np.asarray(candidates[1]).tobytes()).hexdigest()[:24]
    specs = []
    for i in range(n):
        rng = np.random.default_rng([seed, 29, i])
        rows = stratified_cut(np.arange(len(y)), y, size / len(y), rng)[0]
        cand = np.flatnonzero(keep[i]) if keep is not None else np.zeros(0, int)
        key = content_key("reference", *key_parts[:3], seed, i, key_parts[3], size, cand_key, n if cand_key else None)
        specs.append(ReferenceSpec(i, key, rows, cand, int(rng.integers(2**31))))
    return specs


def _owner_specs(n: int, n_cand: int, n_pool: int, size: int, key_parts: tuple, seed: int) -> list[ReferenceSpec]:
    """The owner's design: references 2j and 2j+1 split the candidates at random; each fills up to ``size``
    from the rest of the pool."""
    specs = []
    for i in range(n):
        order = np.random.default_rng([seed, 43, i // 2]).permutation(n_cand)
        cand = np.sort((order[: n_cand // 2] if i % 2 == 0 else order[n_cand // 2:])[:size])
        rng = np.random.default_rng([seed, 47, i])
        rows = np.sort(rng.choice(n_pool, min(size - len(cand), n_pool), replace=False))
        key = content_key("reference", "owner", *key_parts, seed, i, size)
        specs.append(ReferenceSpec(i, key, rows, cand, int(rng.integers(2**31))))
    return specs


def train_references(cfg: ReferenceConfig, algorithm, params: dict, target: CountingTarget,
                     knowledge: AttackerKnowledge, ctx: AttackContext, synthesis=None,
                     candidates: tuple | None = None) -> References:
    """Fit the references (cached one by one). ``candidates`` = (X, y): the records to be scored; the
    references train on some of them under threat=owner always, under threat=attacker when online."""
    X, y, target_probs, source = _pool(cfg, synthesis, target, knowledge, ctx)
    owner = knowledge.threat == "owner"
    n = reference_count(cfg.n_references, knowledge.threat)
    X_c, y_c = (to_format(candidates[0], None), np.asarray(candidates[1], dtype=int)) if candidates is not None else \
        (like(np.zeros((0, knowledge.n_features)), X), np.zeros(0, int))
    _check_pool(cfg, np.concatenate([y, y_c]) if owner else y, knowledge.n_classes, owner)
    if owner:
        size = knowledge.target_size or (len(y) + len(y_c)) // 2
        parts = (_digest(X, y, X_c, y_c, np.asarray([len(y_c)])), str(algorithm), params, source)
        specs = _owner_specs(n, len(y_c), len(y), size, parts, ctx.seed)
    else:
        half = len(y) // 2
        size = min(knowledge.target_size, half) if knowledge.target_size else half
        specs = _attacker_specs(n, y, size, candidates if cfg.online else None,
                                (ctx.data_key, str(algorithm), params, source), ctx.seed)
    values = train_all(specs, algorithm, params, ReferenceData(X, y, X_c, y_c), knowledge.n_classes, ctx)
    pool_in, cand_in = np.zeros((n, len(y)), bool), np.zeros((n, len(y_c)), bool)
    for i, (spec, (_, rows)) in enumerate(zip(specs, values)):
        pool_in[i, rows] = True
        cand_in[i, spec.cand] = True
    trained_on_candidates = owner or cfg.online
    report = {"threat": knowledge.threat, "n_references": n, "reference_model": cfg.reference_model,
              "algorithm": str(algorithm), "params": params, "reference_data": cfg.reference_data,
              "pool_records": int(len(y)), "reference_size": int(pool_in[0].sum() + cand_in[0].sum()),
              "target_size": knowledge.target_size, "trained_on_candidates": trained_on_candidates,
              "candidates_per_reference": int(cand_in[0].sum())}
    return References([m for m, _ in values], X, y, target_probs, pool_in,
                      cand_in if trained_on_candidates else None, report)


def pooled_answers(refs: References, candidates: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every reference's (probabilities, labels, IN flags) on every record of the design, one after the other,
    the candidates first, then the pool: records whose membership in that reference's training is known."""
    X_c, y_c = candidates
    X = float32(stack([to_format(X_c, None), refs.X]))
    y = np.concatenate([np.asarray(y_c, dtype=int), refs.y])
    cand_in = refs.cand_in if refs.cand_in is not None else np.zeros((len(refs.models), len(y_c)), bool)
    inside = np.concatenate([cand_in, refs.pool_in], axis=1)
    probs = np.concatenate([np.asarray(answers(m, X), dtype=np.float64) for m in refs.models])
    return probs, np.tile(y, len(refs.models)), inside.ravel()
