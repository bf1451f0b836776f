"""The verdict of an audit: the strongest attack on the same target answers, with an interval for its AUC.

An auditor acts on the strongest attack, not on the one a run was configured with: every run scores its
method and the threshold attacks on the same evaluation answers, and ``strongest`` names the method with the
highest AUC and the one with the highest TPR at 1% FPR (Carlini et al. 2022 argue for the low-FPR figure).
Picking the maximum over methods on the evaluation set is optimistic by the spread between methods; the
bootstrap interval of the winner's AUC says how much the figure itself can move.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

HEADLINE = ("auc", "tpr_at_1pct_fpr", "fpr_realised_at_1pct", "tpr_at_0.1pct_fpr", "fpr_realised_at_0.1pct")


def bootstrap_auc_interval(membership: np.ndarray, scores: np.ndarray, n_boot: int = 200, seed: int = 0,
                           level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of the ROC AUC, resampling members and non-members separately."""
    membership, scores = np.asarray(membership, dtype=int), np.asarray(scores, dtype=np.float64)
    inside, outside = np.flatnonzero(membership == 1), np.flatnonzero(membership == 0)
    if not len(inside) or not len(outside):
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        rows = np.concatenate([rng.choice(inside, len(inside)), rng.choice(outside, len(outside))])
        values.append(roc_auc_score(membership[rows], scores[rows]))
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))]


def strongest(metrics_by_method: dict[str, dict], scores_by_method: dict[str, np.ndarray],
              membership: np.ndarray, seed: int = 0) -> dict:
    """``{"by_auc": {...}, "by_tpr_at_1pct_fpr": {...}}``: each names the method, its headline figures and the
    bootstrap 95% interval of its AUC. Methods whose AUC is undefined are skipped."""
    usable = {name: m for name, m in metrics_by_method.items() if m.get("auc") is not None and np.isfinite(m["auc"])}
    if not usable:
        return {}
    out = {}
    for key in ("auc", "tpr_at_1pct_fpr"):
        name = max(usable, key=lambda n: (usable[n][key], usable[n]["auc"]))  # ties: the higher AUC
        entry = {"method": name, **{k: usable[name].get(k) for k in HEADLINE}}
        entry["auc_ci95"] = bootstrap_auc_interval(membership, scores_by_method[name], seed=seed)
        out[f"by_{key}"] = entry
    return out
