"""Reference models: the attacker's own models of the target's training, shared by LiRA and RMIA.

LiRA (Carlini et al., IEEE S&P 2022, Sec. IV) and RMIA (Zarifzadeh et al., ICML 2024, Sec. 3) compare the
target's answer on a record with the answers of models the attacker trained itself. ``reference_model``:
``target`` trains them with the target's algorithm and hyper-parameters (what Shadow training assumes),
``mlp`` with a generic MLP. ``reference_data``: ``population`` trains them on the attacker's real labelled
records; ``synthetic`` on records synthesized from the attacker's knowledge (``SynthesisConfig``,
statistics | format, paper III.B) labelled by the target's own answers (argmax of its probabilities; those
queries are booked to the ``references`` stage), so the attack needs no real labelled record.

Offline, each reference trains on a random stratified subset of that pool ("OUT" for every evaluation
candidate) as large as the target's training set where the pool allows (else half the pool). Online
(LiRA), each also trains on a random half of the candidates: every candidate is IN exactly half of them.
Each model is cached (``StageCache``) under a content hash of the data, algorithm, parameters, seed, index
and data source, so LiRA and RMIA (and reruns) share one set. Querying the references costs no target query.

``ReferenceAttack`` is the part LiRA and RMIA share: fit the references, record their true-class
probabilities on the candidates, and pick the threshold on attacker-side data only by treating some
references in turn as the target ("pseudo-targets") on records whose membership the attacker knows.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from socinf.attacks.base import AttackContext, AttackerKnowledge, check_fitted
from socinf.attacks.synthesis import GENERATIVE, SynthesisConfig, check_applies, synthesize
from socinf.cache import content_key
from socinf.data.splits import stratified_cut
from socinf.errors import ConfigError
from socinf.owner.models import float32
from socinf.settings import Interval, Options, check, settings_from
from socinf.sparse import row_ids, stack, to_format
from socinf.targets.base import CountingTarget

REFERENCE_MODELS = ("target", "mlp")
REFERENCE_DATA = ("population", "synthetic")
EPS = 1e-12
N_CALIBRATION = 1000  # attacker-side records the threshold is chosen on
N_PSEUDO_TARGETS = 4  # references that play the target in turn for the threshold


@dataclass
class ReferenceConfig:
    """The reference models' settings (LiRAConfig and RMIAConfig add their own)."""

    n_references: int = 16
    reference_model: str = "target"  # target (its algorithm and hyper-parameters) | mlp
    reference_data: str = "population"  # population (real labelled records) | synthetic

    constraints: ClassVar[dict] = {
        "n_references": [Interval(int, 2, 100_000)], "reference_model": [Options(REFERENCE_MODELS)],
        "reference_data": [Options(REFERENCE_DATA)],
    }


@dataclass
class References:
    """Fitted references and the pool they were drawn from (``pool_in[i, j]``: reference i trained on pool row j)."""

    models: list
    X: Any  # dense or CSR, as the attacker's records
    y: np.ndarray
    target_probs: np.ndarray | None  # the target's answers on the pool (synthetic: already paid for)
    pool_in: np.ndarray
    cand_in: np.ndarray | None  # online: (n_references, n_candidates) IN mask
    report: dict


def true_class(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    return probs[np.arange(len(probs)), np.asarray(labels, dtype=int)]


def reference_probs(models: list, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n_references, n) true-class probabilities of every reference on records (X, y)."""
    X = float32(X)
    return np.stack([true_class(m.predict_proba(X), y) for m in models])


def _pool(cfg: ReferenceConfig, synthesis, target: CountingTarget, knowledge: AttackerKnowledge,
          ctx: AttackContext) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    """(X, y, target answers or None, source key) the references are drawn from."""
    if cfg.reference_data == "population":
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


def _check_pool(cfg: ReferenceConfig, y: np.ndarray, n_classes: int) -> None:
    counts = np.bincount(y, minlength=n_classes)
    if counts.min() < 4:
        c = int(counts.argmin())
        raise ConfigError(f"method.reference_data={cfg.reference_data}: the attacker's {len(y)} records hold "
                          f"{counts[c]} of class {c}; reference models need >= 4 per class (each trains on at "
                          "most half); give the attacker more records (dataset.per_class, synthesis.n_records)")


def _online_keep(n_references: int, n_candidates: int, seed: int) -> np.ndarray:
    """Each candidate IN exactly half of the references (Carlini et al.'s keep matrix)."""
    rng = np.random.default_rng([seed, 31])
    return rng.random((n_references, n_candidates)).argsort(axis=0) < n_references // 2


def train_references(cfg: ReferenceConfig, algorithm, params: dict, target: CountingTarget,
                     knowledge: AttackerKnowledge, ctx: AttackContext, synthesis=None,
                     candidates: tuple | None = None) -> References:
    """Fit ``cfg.n_references`` references (cached one by one); ``candidates`` = (X, y) makes them online."""
    X, y, target_probs, source = _pool(cfg, synthesis, target, knowledge, ctx)
    _check_pool(cfg, y, knowledge.n_classes)
    half = len(y) // 2
    size = min(knowledge.target_size, half) if knowledge.target_size else half
    cand_in, cand_key = None, None
    if candidates is not None:
        cand_in = _online_keep(cfg.n_references, len(candidates[1]), ctx.seed)
        digest = hashlib.sha256(row_ids(candidates[0]).tobytes() + np.asarray(candidates[1]).tobytes())
        cand_key = digest.hexdigest()[:24]
    models, pool_in = [], np.zeros((cfg.n_references, len(y)), bool)
    for i in range(cfg.n_references):
        def compute(i=i):
            rng = np.random.default_rng([ctx.seed, 29, i])
            rows = stratified_cut(np.arange(len(y)), y, size / len(y), rng)[0]
            X_i, y_i = X[rows], y[rows]
            if cand_in is not None:
                X_i = stack([X_i, candidates[0][cand_in[i]]])
                y_i = np.concatenate([y_i, np.asarray(candidates[1])[cand_in[i]]])
            from socinf.owner.models import fit_local_model

            return fit_local_model(algorithm, params, X_i, y_i, seed=int(rng.integers(2**31)), threads=ctx.threads), rows

        key = content_key("reference", ctx.data_key, str(algorithm), params, ctx.seed, i, source, size,
                          cand_key, cfg.n_references if cand_key else None)
        (model, rows), _ = ctx.cache.get_or_compute("reference", key, compute)
        models.append(model)
        pool_in[i, rows] = True
    report = {"n_references": cfg.n_references, "reference_model": cfg.reference_model,
              "algorithm": str(algorithm), "params": params, "reference_data": cfg.reference_data,
              "pool_records": int(len(y)), "reference_size": int(size),
              "target_size": knowledge.target_size, "online": candidates is not None,
              "candidates_per_reference": int(cand_in[0].sum()) if cand_in is not None else 0}
    return References(models, X, y, target_probs, pool_in, cand_in, report)


@dataclass
class View:
    """What a reference attack scores: the (pseudo-)target's and the references' true-class probabilities
    on some records, and which references trained on each record."""

    target_p: np.ndarray  # (n,)
    ref_p: np.ndarray  # (R, n)
    ref_in: np.ndarray  # (R, n) bool


class ReferenceAttack:
    """Shared fit / score / threshold of LiRA and RMIA; subclasses implement ``_scores(view, pseudo)``."""

    name = "reference"
    online = False
    needs_candidates = True  # run_attacks passes the evaluation records (not their membership) to fit

    settings_class: type = ReferenceConfig  # LiRAConfig | RMIAConfig: the settings this attack stores

    def settings(self):
        """This attack's settings as its checked settings dataclass (``method.<field>=...`` on a bad value)."""
        from socinf.attacks.shadow import check_algorithm

        names = [f.name for f in dataclasses.fields(self.settings_class)]
        settings = check(self.settings_class(**{k: getattr(self, k) for k in names}), "method")
        if self.reference_model == "target":
            check_algorithm(self.algorithm)
        if self.reference_data == "synthetic":
            syn = settings_from(self.synthesis, SynthesisConfig, "synthesis")
            if syn.name not in GENERATIVE:
                raise ConfigError(f"synthesis={syn.name!r}: method.reference_data=synthetic needs synthesis=statistics "
                                  "or format to synthesize records from (or method.reference_data=population)")
        return settings

    def _algorithm(self) -> tuple:
        if self.reference_model == "mlp":
            return "mlp", dict(self.mlp_params or {})
        return self.algorithm, dict(self.params or {})

    def fit(self, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext,
            candidates: tuple | None = None) -> dict:
        """``candidates`` = (X, y) of the records ``score`` will be asked about, in that order (the
        references' answers on them are what the target's answers are compared with)."""
        self.settings()
        if candidates is None:
            raise ConfigError(f"{self.name}: fit(target, knowledge, ctx, candidates=(X, y)) needs the records to score")
        X_c, y_c = to_format(candidates[0], None), np.asarray(candidates[1], dtype=int)
        cfg = ReferenceConfig(self.n_references, self.reference_model, self.reference_data)
        with ctx.timed("references"):
            refs = train_references(cfg, *self._algorithm(), target, knowledge, ctx, self.synthesis,
                                    (X_c, y_c) if self.online else None)
            ref_in = refs.cand_in if self.online else np.zeros((self.n_references, len(y_c)), bool)
            self.candidates_ = View(np.full(len(y_c), np.nan), reference_probs(refs.models, X_c, y_c), ref_in)
        report = self._fit_more(refs, target, ctx)
        with ctx.timed("references"):
            self.threshold, calibration_auc = self._calibrate(refs, ctx)
        return {self.name: {**refs.report, **report, "threshold": self.threshold,
                            "attacker_side_auc": calibration_auc}}

    def _fit_more(self, refs: References, target: CountingTarget, ctx: AttackContext) -> dict:
        return {}

    def _calibration_records(self, refs: References, ctx: AttackContext) -> tuple[np.ndarray, np.ndarray]:
        """(all references' true-class probabilities, IN mask) on records of known reference membership."""
        if self.online:
            return self.candidates_.ref_p, self.candidates_.ref_in
        rng = np.random.default_rng([ctx.seed, 37])
        rows = np.sort(rng.permutation(len(refs.y))[:N_CALIBRATION])
        return reference_probs(refs.models, refs.X[rows], refs.y[rows]), refs.pool_in[:, rows]

    def _calibrate(self, refs: References, ctx: AttackContext) -> tuple[float, float]:
        """The cut with the best balanced accuracy when some references play the target in turn."""
        from sklearn.metrics import roc_auc_score

        from socinf.attacks.baselines import best_threshold

        ref_p, ref_in = self._calibration_records(refs, ctx)
        scores, member = [], []
        for k in range(min(N_PSEUDO_TARGETS, self.n_references)):
            others = np.arange(self.n_references) != k
            view = View(ref_p[k], ref_p[others], ref_in[others])
            scores.append(self._scores(view, pseudo=k))
            member.append(ref_in[k])
        scores, member = np.concatenate(scores), np.concatenate(member)
        if member.all() or not member.any():
            return float(np.median(scores)), float("nan")
        return best_threshold(scores[member], scores[~member]), float(roc_auc_score(member, scores))

    def score(self, probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        check_fitted(self, "candidates_")
        if len(probs) != len(self.candidates_.target_p):
            raise ValueError(f"{self.name}.score: got answers on {len(probs)} records, but fit was given "
                             f"{len(self.candidates_.target_p)} candidates (score them, in the same order)")
        c = self.candidates_
        return self._scores(View(true_class(probs, labels), c.ref_p, c.ref_in), pseudo=None)

    def _scores(self, view: View, pseudo: int | None) -> np.ndarray:
        raise NotImplementedError
