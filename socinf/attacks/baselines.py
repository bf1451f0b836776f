"""Threshold attacks that need no attack model, scored on the same target answers as the method.

Each turns a prediction vector (and the record's true label) into a membership
score, higher = more likely a member:

- ``confidence``: the largest class probability.
- ``entropy``: minus the prediction entropy (members get sharper answers).
- ``modified_entropy``: minus Song & Mittal's (2021) modified entropy, which
  also uses the true label: -(1-p_y) log p_y - sum_{i != y} p_i log(1 - p_i).
- ``loss``: minus the cross-entropy loss on the true label (Yeom et al. 2018).
- ``gap``: 1 if the target classifies the record correctly, else 0 (the
  label-only gap attack, ``attacks/label_only.py``); its threshold is fixed.

The threshold of each score is chosen without the evaluation membership: a
model of the target's algorithm (as Shadow training assumes) plays the target
on records whose membership in its own training is known, and the threshold
that best separates its answers on the records it trained on ("in") from the
others ("out", balanced accuracy) is applied to the target's answers. Under
threat=attacker that is one shadow model on a stratified half of the
attacker's auxiliary records; under threat=owner the owner's first reference
models (``references.py``: the size of the target's training set, each
candidate in half of them), on every record of their design. The evaluation
members are never looked at; they only score the result. No target query is
spent: the evaluation answers the method already paid for are reused.
"""
from __future__ import annotations

import numpy as np

from socinf.attacks.base import AttackContext, AttackerKnowledge, check_fitted
from socinf.attacks.label_only import GAP_THRESHOLD, gap_attack_scores
from socinf.attacks.shadow import check_algorithm, shadow_model
from socinf.errors import ConfigError
from socinf.owner.models import answers
from socinf.targets.base import CountingTarget

EPS = 1e-12


def _clipped(probs: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(probs, dtype=np.float64), EPS, 1.0 - EPS)


def _true_class(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return probs[np.arange(len(probs)), np.asarray(labels, dtype=int)]


def confidence_score(probs, labels=None) -> np.ndarray:
    return np.asarray(probs, dtype=np.float64).max(axis=1)


def entropy_score(probs, labels=None) -> np.ndarray:
    p = _clipped(probs)
    return (p * np.log(p)).sum(axis=1)


def modified_entropy_score(probs, labels) -> np.ndarray:
    p = _clipped(probs)
    p_y = _true_class(p, labels)
    others = p * np.log(1.0 - p)
    others[np.arange(len(p)), np.asarray(labels, dtype=int)] = 0.0
    return (1.0 - p_y) * np.log(p_y) + others.sum(axis=1)


def loss_score(probs, labels) -> np.ndarray:
    return np.log(_true_class(_clipped(probs), labels))


THRESHOLD_ATTACKS = {
    "confidence": confidence_score,
    "entropy": entropy_score,
    "modified_entropy": modified_entropy_score,
    "loss": loss_score,
    "gap": gap_attack_scores,
}
FIXED_THRESHOLDS = {"gap": GAP_THRESHOLD}  # member iff correctly classified, by definition


def best_threshold(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """The cut ``score >= t`` with the best balanced accuracy between the two attacker-side groups."""
    values = np.unique(np.concatenate([scores_in, scores_out]))
    cuts = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1.0]])
    s_in, s_out = np.sort(scores_in), np.sort(scores_out)
    tpr = 1.0 - np.searchsorted(s_in, cuts, side="left") / len(s_in)
    tnr = np.searchsorted(s_out, cuts, side="left") / len(s_out)
    return float(cuts[int(np.argmax(tpr + tnr))])


def baseline_scores(probs: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Every threshold attack's per-record score (for ROC curves and membership_scores.csv)."""
    return {name: fn(probs, labels) for name, fn in THRESHOLD_ATTACKS.items()}


def cut_offs(answers_in: tuple, answers_out: tuple) -> dict[str, float]:
    """Each attack's threshold from (probabilities, labels) of models on records they did / did not train on."""
    return {name: FIXED_THRESHOLDS.get(name) or best_threshold(fn(*answers_in), fn(*answers_out))
            for name, fn in THRESHOLD_ATTACKS.items()}


def attacker_side_thresholds(algorithm: str, params: dict, knowledge: AttackerKnowledge,
                             ctx: AttackContext) -> dict[str, float]:
    """Each attack's threshold from one shadow model (``algorithm`` with ``params``) on its own in/out halves of X_aux."""
    model, inside, outside = shadow_model(algorithm, params, knowledge, 0, ctx)
    return cut_offs(*[(np.asarray(answers(model, knowledge.X_aux[rows], dtype=None)), knowledge.y_aux[rows])
                      for rows in (inside, outside)])


def owner_thresholds(algorithm, params: dict, target: CountingTarget, knowledge: AttackerKnowledge,
                     ctx: AttackContext, candidates: tuple) -> dict[str, float]:
    """Each attack's threshold from the owner's first references, each on every record of their design."""
    from socinf.attacks.references import N_PSEUDO_TARGETS, ReferenceConfig, pooled_answers, train_references

    refs = train_references(ReferenceConfig(n_references=N_PSEUDO_TARGETS), algorithm, params, target, knowledge,
                            ctx, candidates=candidates)
    probs, labels, inside = pooled_answers(refs, candidates)
    return cut_offs((probs[inside], labels[inside]), (probs[~inside], labels[~inside]))


class ThresholdAttacks:
    """Every threshold attack at once: ``fit`` picks each one's cut-off on models of ``algorithm`` (with
    ``params``): one shadow model on the attacker's records, or under threat=owner the owner's first reference
    models; ``scores`` / ``thresholds_`` then score any target answers."""

    name = "thresholds"
    needs_candidates = True  # threat=owner: the references' design includes the evaluation records (not their membership)

    def __init__(self, algorithm="xgboost", params=None):
        self.algorithm, self.params = algorithm, params

    def settings(self) -> None:
        check_algorithm(self.algorithm)

    def fit(self, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext,
            candidates: tuple | None = None) -> dict:
        self.settings()
        params = dict(self.params or {})
        with target.stage("baselines"):  # scored on the evaluation answers: nothing is asked; the stage shows 0
            target.book_cached(0)
            if knowledge.threat != "owner":
                self.thresholds_ = attacker_side_thresholds(self.algorithm, params, knowledge, ctx)
            elif candidates is None:
                raise ConfigError("thresholds: under threat=owner, fit(target, knowledge, ctx, candidates=(X, y)) "
                                  "needs the records to score (the owner's references train on half of them)")
            else:
                self.thresholds_ = owner_thresholds(self.algorithm, params, target, knowledge, ctx, candidates)
        return {"thresholds": dict(self.thresholds_)}

    def scores(self, probs: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        check_fitted(self, "thresholds_")
        return baseline_scores(probs, labels)
