"""One audit of a black-box model: fit the attacks, ask the target once for the evaluation records, score.

``run_attacks`` is the engine both front doors use: ``socinf run`` (the CLI builds the attacks from its
config) and ``socinf.audit`` (a Python caller's own model and data), both through the method table
(``socinf.methods``). Before any query or training it checks what it receives: every attack's settings, the
evaluation records and their membership, the attacker's knowledge, the seed. The evaluation answers are asked
for once and shared by every attack and the threshold attacks, so comparing methods costs no extra query; the
threshold attacks' cut-offs come from a shadow model on the attacker's own data, never from the evaluation
members.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from socinf.attacks.base import THREATS, AttackContext, AttackerKnowledge
from socinf.errors import ConfigError
from socinf.evaluation.metrics import membership_metrics
from socinf.evaluation.overlap import check_distinct_sets, record_overlap
from socinf.evaluation.verdict import evidence, strongest
from socinf.evaluation.verdict_config import VerdictConfig
from socinf.settings import SEED, THREADS, Options, check_value, settings_from
from socinf.sparse import to_format
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
    overlap: dict = field(default_factory=dict)  # exact duplicate records between the sets (evaluation.overlap)
    thresholds: dict = field(default_factory=dict)  # each attack's decision threshold (attacker-side)
    evidence: dict = field(default_factory=dict)  # what the verdict rests on (evaluation.verdict.evidence)
    labels: np.ndarray | None = None  # the evaluation records' class indices
    population: int = 0  # labelled records the attacker held


def check_inputs(knowledge: AttackerKnowledge, ctx: AttackContext, X_eval, y_eval, membership) -> None:
    """What the engine receives, in one line per fault: records, labels and membership that agree."""
    check_value("seed", ctx.seed, [SEED])
    check_value("threads", ctx.threads, [THREADS])
    K, d = knowledge.n_classes, knowledge.n_features
    if X_eval.ndim != 2 or X_eval.shape[1] != d:
        raise ConfigError(f"evaluation records of shape {list(X_eval.shape)}: expected (n, {d}) like the attacker's")
    n = X_eval.shape[0]
    if len(y_eval) != n or len(membership) != n:
        raise ConfigError(f"{n} evaluation records with {len(y_eval)} labels and {len(membership)} "
                          "membership flags: expected one of each per record")
    if not set(np.unique(membership).tolist()) == {0, 1}:
        raise ConfigError("membership: expected both members (1) and non-members (0) among the evaluation records")
    for what, y in (("evaluation", y_eval), ("population", knowledge.y_aux)):
        if len(y) and (np.min(y) < 0 or np.max(y) >= K):
            raise ConfigError(f"{what} labels {sorted(set(np.unique(y).tolist()) - set(range(K)))[:5]}: expected "
                              f"class indices 0..{K - 1}")
    if knowledge.X_aux.shape[0] and knowledge.X_aux.shape[1:] != (d,):
        raise ConfigError(f"population records of width {knowledge.X_aux.shape[1]}: expected {d} features")
    check_value("threat", knowledge.threat, [Options(THREATS)])
    X_owner, y_owner = knowledge.owner_records()
    if X_owner.shape[0] and (X_owner.shape[1:] != (d,) or len(y_owner) != X_owner.shape[0]):
        raise ConfigError(f"owner records of shape {list(X_owner.shape)} with {len(y_owner)} labels: expected (n, {d}) "
                          "and one label per record")


def _fit(attack, target, knowledge, ctx, X_eval, y_eval) -> dict:
    """Reference attacks (LiRA, RMIA) compare the target with their own models on each record to score, and
    under threat=owner every model of the target's training (threshold attacks, Shadow training) trains on
    some of them: they are given the evaluation records (never their membership)."""
    if getattr(attack, "needs_candidates", False):
        return attack.fit(target, knowledge, ctx, candidates=(X_eval, y_eval))
    return attack.fit(target, knowledge, ctx)


def run_attacks(attacks: list, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext,
                X_eval: np.ndarray, y_eval: np.ndarray, membership: np.ndarray, thresholds=None,
                verdict=None) -> AttackRun:
    """Fit each attack through the black box, score the evaluation records (dense or ``scipy.sparse``, the
    attacker's records in the same format), and (``thresholds``: a
    ``ThresholdAttacks``) the threshold attacks on the same answers; then the evidence of the verdict
    (``verdict``: a ``VerdictConfig`` or a mapping of its fields)."""
    X_eval, y_eval, membership = to_format(X_eval, None), np.asarray(y_eval), np.asarray(membership)
    check_inputs(knowledge, ctx, X_eval, y_eval, membership)
    inside = membership == 1
    check_distinct_sets(X_eval[inside], y_eval[inside], X_eval[~inside], y_eval[~inside], knowledge.X_aux, knowledge.y_aux)
    verdict = settings_from(verdict, VerdictConfig, "verdict")
    for attack in [*attacks, *([thresholds] if thresholds is not None else [])]:
        attack.settings()  # every bad setting before any query or training
    reports = {attack.name: _fit(attack, target, knowledge, ctx, X_eval, y_eval) for attack in attacks}
    with ctx.timed("evaluation"), target.stage("evaluation"):
        probs = target.predict_proba(X_eval)
    run = AttackRun(probs, reports, overlap=record_overlap(X_eval[inside], X_eval[~inside], knowledge.X_aux),
                    labels=y_eval, population=len(knowledge.y_aux))
    for attack in attacks:
        run.scores[attack.name] = np.asarray(attack.score(probs, y_eval), dtype=np.float64)
        run.thresholds[attack.name] = attack.threshold
        run.metrics[attack.name] = membership_metrics(membership, run.scores[attack.name], attack.threshold)
        if hasattr(attack, "diagnose"):  # self-checks on attacker-side data; membership is not passed
            run.metrics[attack.name]["diagnostics"] = attack.diagnose(run.scores[attack.name])
    if thresholds is not None:
        with ctx.timed("baselines"):
            run.reports[thresholds.name] = _fit(thresholds, target, knowledge, ctx, X_eval, y_eval)
        run.baseline_scores = thresholds.scores(probs, y_eval)
        run.thresholds.update(thresholds.thresholds_)
        run.baselines = {name: membership_metrics(membership, scores, thresholds.thresholds_[name])
                         for name, scores in run.baseline_scores.items()}
    with ctx.timed("verdict"):
        every_metric, every_score = {**run.metrics, **run.baselines}, {**run.scores, **run.baseline_scores}
        run.strongest = strongest(every_metric, every_score, membership, seed=ctx.seed)
        run.evidence = evidence(every_score, every_metric, membership, X_eval, y_eval, probs, verdict, ctx.seed)
    return run
