"""What LiRA and RMIA share: fit the reference models (``references.py``), record their answers on the
candidates, and pick the decision threshold without the evaluation membership, by treating some references in
turn as the target ("pseudo-targets") on records whose membership in *their* training the attack knows: the
candidates when the references trained on some of them (online, or ``threat=owner``), else attacker-side pool
records (Carlini et al. 2022, Sec. VI-A evaluate the same way, one model against the others).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from socinf.attacks.base import AttackContext, AttackerKnowledge, check_fitted
from socinf.attacks.references import (N_CALIBRATION, N_PSEUDO_TARGETS, ReferenceConfig, References,
                                       logit_confidence, reference_answers, reference_count, train_references,
                                       true_class)
from socinf.attacks.synthesis import GENERATIVE, SynthesisConfig
from socinf.errors import ConfigError
from socinf.settings import check, settings_from
from socinf.sparse import to_format
from socinf.targets.base import CountingTarget


@dataclass
class View:
    """What a reference attack scores: the (pseudo-)target's and the references' answers on some records
    (true-class probability ``p`` and logit confidence ``phi``), and which references trained on each record."""

    target_p: np.ndarray  # (n,)
    ref_p: np.ndarray  # (R, n)
    ref_in: np.ndarray  # (R, n) bool
    target_phi: np.ndarray | None = None  # (n,)
    ref_phi: np.ndarray | None = None  # (R, n)

    def pick(self, k: int) -> "View":
        """Reference ``k`` as the target, the others as references."""
        others = np.arange(len(self.ref_p)) != k
        return View(self.ref_p[k], self.ref_p[others], self.ref_in[others], self.ref_phi[k], self.ref_phi[others])


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
        self.n_references_ = reference_count(self.n_references, knowledge.threat)
        cfg = ReferenceConfig(self.n_references, self.reference_model, self.reference_data, self.online)
        with ctx.timed("references"):
            refs = train_references(cfg, *self._algorithm(), target, knowledge, ctx, self.synthesis, (X_c, y_c))
            ref_in = refs.cand_in if refs.cand_in is not None else np.zeros((self.n_references_, len(y_c)), bool)
            p, phi = reference_answers(refs.models, X_c, y_c)
            self.candidates_ = View(np.full(len(y_c), np.nan), p, ref_in, np.full(len(y_c), np.nan), phi)
        report = self._fit_more(refs, target, ctx)
        with ctx.timed("references"):
            self.threshold, calibration_auc = self._calibrate(refs, ctx)
        return {self.name: {**refs.report, "online": self.online, **report, "threshold": self.threshold,
                            "attacker_side_auc": calibration_auc}}

    def _fit_more(self, refs: References, target: CountingTarget, ctx: AttackContext) -> dict:
        return {}

    def _calibration_records(self, refs: References, ctx: AttackContext) -> View:
        """All references' answers on records of known reference membership (the target's part unused)."""
        if refs.cand_in is not None:
            return self.candidates_
        rng = np.random.default_rng([ctx.seed, 37])
        rows = np.sort(rng.permutation(len(refs.y))[:N_CALIBRATION])
        p, phi = reference_answers(refs.models, refs.X[rows], refs.y[rows])
        return View(p[0], p, refs.pool_in[:, rows], phi[0], phi)

    def _calibrate(self, refs: References, ctx: AttackContext) -> tuple[float, float]:
        """The cut with the best balanced accuracy when some references play the target in turn."""
        from sklearn.metrics import roc_auc_score

        from socinf.attacks.baselines import best_threshold

        records = self._calibration_records(refs, ctx)
        scores, member = [], []
        for k in range(min(N_PSEUDO_TARGETS, self.n_references_)):
            scores.append(self._scores(records.pick(k), pseudo=k))
            member.append(records.ref_in[k])
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
        view = View(true_class(probs, labels), c.ref_p, c.ref_in, logit_confidence(probs, labels), c.ref_phi)
        return self._scores(view, pseudo=None)

    def _scores(self, view: View, pseudo: int | None) -> np.ndarray:
        raise NotImplementedError
