"""The evidence behind an audit's verdict: the strongest attack on the same target answers, how sure it is,
what it bounds, and what a model-free classifier does on the same records.

An auditor acts on the strongest attack, not on the one a run was configured with: every run scores its
method and the threshold attacks on the same evaluation answers, and ``strongest`` names the method with the
highest AUC and the one with the highest TPR at 1% FPR (Carlini et al. 2022 argue for the low-FPR figure),
each with an interval for its AUC that reflects the number of records (``significance``). Picking the maximum
over methods is optimistic; ``evidence`` therefore tests every attack (one-sided, Holm-corrected over all of
them), bounds epsilon with thresholds chosen on half of the records (``epsilon``), scores the blind baseline
(``blind``) and measures the target's utility from its answers. ``socinf.evaluation.judgement`` turns this
into the verdict's words.
"""
from __future__ import annotations

import numpy as np

from socinf.evaluation.blind import blind_baseline
from socinf.evaluation.epsilon import epsilon_lower_bounds
from socinf.evaluation.significance import (average_ranks, auc_p_value, bootstrap_auc_interval,  # noqa: F401
                                            clopper_pearson, holm, small_sample_auc_interval)
from socinf.evaluation.verdict_config import VerdictConfig

HEADLINE = ("auc", "tpr_at_1pct_fpr", "fpr_realised_at_1pct", "tpr_at_0.1pct_fpr", "fpr_realised_at_0.1pct",
            "tpr_at_1pct_fpr_status", "tpr_at_0.1pct_fpr_status")


def strongest(metrics_by_method: dict[str, dict], scores_by_method: dict[str, np.ndarray],
              membership: np.ndarray, seed: int = 0) -> dict:
    """``{"by_auc": {...}, "by_tpr_at_1pct_fpr": {...}}``: each names the method, its headline figures and the
    bootstrap 95% interval of its AUC. Methods whose AUC is undefined are skipped."""
    usable = {name: m for name, m in metrics_by_method.items() if m.get("auc") is not None and np.isfinite(m["auc"])}
    if not usable:
        return {}
    out, intervals = {}, {}
    n1, n0 = int(np.sum(membership == 1)), int(np.sum(membership == 0))
    for key in ("auc", "tpr_at_1pct_fpr"):
        name = max(usable, key=lambda n: (usable[n][key], usable[n]["auc"]))  # ties: the higher AUC
        if name not in intervals:
            boot = bootstrap_auc_interval(membership, scores_by_method[name], seed=seed)
            intervals[name] = small_sample_auc_interval(usable[name]["auc"], boot, n1, n0)
        out[f"by_{key}"] = {"method": name, **{k: usable[name].get(k) for k in HEADLINE},
                            "auc_ci95": intervals[name][0], "auc_ci_method": intervals[name][1]}
    return out


def utility(probs: np.ndarray, labels: np.ndarray, membership: np.ndarray) -> dict:
    """The target's accuracy on the evaluation non-members, from its answers, against a constant guess of the
    most common class among them (``chance``), with the accuracy's Clopper-Pearson interval."""
    outside = np.asarray(membership) == 0
    labels = np.asarray(labels)[outside]
    if not len(labels):
        return {}
    correct = int((np.asarray(probs)[outside].argmax(axis=1) == labels).sum())
    low, high = clopper_pearson(correct, len(labels))
    return {"test_accuracy": correct / len(labels), "test_accuracy_ci95": [float(low), float(high)],
            "chance_accuracy": float(np.bincount(labels).max() / len(labels)), "nonmembers": int(len(labels))}


def tpr_interval(metrics: dict, n1: int, n0: int) -> dict:
    """A TPR at 1% FPR with the Clopper-Pearson intervals of the TPR (over n1 members) and the realised FPR
    (over n0 non-members)."""
    tpr, fpr = metrics["tpr_at_1pct_fpr"], metrics["fpr_realised_at_1pct"]
    t_low, t_high = clopper_pearson(round(tpr * n1), n1)
    f_low, f_high = clopper_pearson(round(fpr * n0), n0)
    return {"value": tpr, "ci95": [float(t_low), float(t_high)], "fpr": fpr, "fpr_ci95": [float(f_low), float(f_high)],
            "members": n1, "nonmembers": n0, "status": metrics.get("tpr_at_1pct_fpr_status")}


def evidence(scores_by_method: dict[str, np.ndarray], metrics_by_method: dict[str, dict], membership: np.ndarray,
             X_eval, y_eval: np.ndarray | None, probs: np.ndarray | None, settings: VerdictConfig | None = None,
             seed: int = 0) -> dict:
    """What the verdict rests on, from the evaluation records, their membership and the target's answers.
    Adds ``p_value`` (one-sided), ``p_value_holm`` and ``epsilon_lower_bound`` to each attack's metrics. From
    scores alone (``X_eval`` / ``probs`` None: a run saved before verdicts existed) there is no blind baseline
    and no utility."""
    settings = settings or VerdictConfig()
    membership = np.asarray(membership, dtype=int)
    raw = {name: auc_p_value(membership, scores, seed) for name, scores in scores_by_method.items()}
    adjusted = holm(raw)
    bounds = epsilon_lower_bounds(scores_by_method, membership, settings.delta, seed)
    for name, metrics in metrics_by_method.items():
        metrics.update(p_value=raw[name], p_value_holm=adjusted[name],
                       epsilon_lower_bound=bounds["per_attack"][name]["epsilon_lower_bound"])
    return {"alpha": settings.alpha, "p_values": {n: {"one_sided": raw[n], "holm": adjusted[n]} for n in raw},
            "epsilon": bounds, "utility": utility(probs, y_eval, membership) if probs is not None else {},
            "blind_baseline": blind_baseline(X_eval, y_eval, membership, seed) if X_eval is not None else
            {"auc": None, "auc_ci95": None, "reason": "not computed: the saved run holds no evaluation records"},
            "members": int(membership.sum()), "nonmembers": int((membership == 0).sum())}
