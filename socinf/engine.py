"""One audit of a black-box model: fit the attacks, ask the target once for the evaluation records, score.

``run_attacks`` is the engine both front doors use: ``socinf run`` (the CLI builds the attacks from its
config) and ``socinf.audit`` (a Python caller's own model and data). The evaluation answers are asked for
once and shared by every attack and every threshold attack, so comparing methods costs no extra query; the
threshold attacks' cut-offs come from a shadow model on the attacker's own data, never from the
evaluation members.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from socinf.attacks.base import AttackContext, AttackerKnowledge
from socinf.evaluation.metrics import membership_metrics
from socinf.evaluation.verdict import strongest
from socinf.targets.base import CountingTarget


@dataclass
class AttackRun:
    """What ``run_attacks`` found: per method its fit report, metrics and per-record scores."""

    probs: np.ndarray  # the target's answers on the evaluation records
    reports: dict[str, dict] = field(default_factory=dict)
    metrics: dict[str, dict] = field(default_factory=dict)
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    baselines: dict[str, dict] = field(default_factory=dict)  # threshold attacks: metrics
    baseline_scores: dict[str, np.ndarray] = field(default_factory=dict)
    strongest: dict = field(default_factory=dict)


def _fit(attack, target, knowledge, ctx, X_eval, y_eval) -> dict:
    """Reference attacks (LiRA, RMIA) compare the target with their own models on each record to score:
    they are given the evaluation records (never their membership)."""
    if getattr(attack, "needs_candidates", False):
        return attack.fit(target, knowledge, ctx, candidates=(X_eval, y_eval))
    return attack.fit(target, knowledge, ctx)


def run_attacks(attacks: list, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext,
                X_eval: np.ndarray, y_eval: np.ndarray, membership: np.ndarray,
                threshold_shadow: tuple | None = None) -> AttackRun:
    """Fit each attack through the black box, score the evaluation records, and (with ``threshold_shadow`` =
    (algorithm, params) of the calibration shadow) the threshold attacks on the same answers."""
    reports = {attack.name: _fit(attack, target, knowledge, ctx, X_eval, y_eval) for attack in attacks}
    with ctx.timed("evaluation"), target.stage("evaluation"):
        probs = target.predict_proba(X_eval)
    run = AttackRun(probs, reports)
    for attack in attacks:
        run.scores[attack.name] = np.asarray(attack.score(probs, y_eval), dtype=np.float64)
        run.metrics[attack.name] = membership_metrics(membership, run.scores[attack.name], attack.threshold)
        if hasattr(attack, "diagnose"):  # self-checks on attacker-side data; membership is not passed
            run.metrics[attack.name]["diagnostics"] = attack.diagnose(run.scores[attack.name])
    if threshold_shadow is not None:
        from socinf.attacks.baselines import baseline_scores, score_baselines

        with ctx.timed("baselines"):
            run.baselines = score_baselines(threshold_shadow, target, knowledge, ctx, probs, y_eval, membership)
        run.baseline_scores = baseline_scores(probs, y_eval)
    with ctx.timed("verdict"):
        run.strongest = strongest({**run.metrics, **run.baselines}, {**run.scores, **run.baseline_scores},
                                  membership, seed=ctx.seed)
    return run
