"""Membership-inference metrics, and the collision ceiling no black-box attack can pass.

Decisions are ``score >= threshold``; ROC-based figures (AUC, TPR at a low FPR)
use the scores alone. TPR at FPR <= f is the best TPR over ROC points whose FPR
does not exceed f, reported with the FPR actually realised: with 1,000
non-members, 0.1% FPR means at most one false positive.

Such a figure is only as good as the number of non-members behind it (``fpr_resolution``): below 1/f
non-members no threshold realises an FPR of f other than 0 ("unmeasurable"), and below 10/f at most a handful
of false positives decide it ("coarse"). Both are flagged beside the figure in metrics.json
(``tpr_at_1pct_fpr_status``) and in every table that shows it.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score, roc_curve


def tpr_at_fpr(y_true: np.ndarray, scores: np.ndarray, max_fpr: float) -> tuple[float, float]:
    fpr, tpr, _ = roc_curve(y_true, scores)
    ok = fpr <= max_fpr + 1e-12
    best = int(np.argmax(np.where(ok, tpr, -1.0)))
    return float(tpr[best]), float(fpr[best])


LOW_FPRS = {"1pct": 0.01, "0.1pct": 0.001}  # the low false-positive rates every attack is reported at
MEASURABLE_FALSE_POSITIVES = 1  # fewer non-members than this / FPR: no threshold realises that FPR
RELIABLE_FALSE_POSITIVES = 10  # fewer than this / FPR: a handful of false positives decide the TPR


def fpr_resolution(nonmembers: int, fpr: float) -> str:
    """"ok", "coarse" (fewer than 10/fpr non-members) or "unmeasurable" (fewer than 1/fpr)."""
    if nonmembers * fpr < MEASURABLE_FALSE_POSITIVES - 1e-9:
        return "unmeasurable"
    return "coarse" if nonmembers * fpr < RELIABLE_FALSE_POSITIVES - 1e-9 else "ok"


def resolution_note(status: str, fpr: float, nonmembers: int) -> str:
    """The flag a table prints beside a TPR at ``fpr`` ("" when the evaluation resolves it)."""
    if status == "ok":
        return ""
    need = MEASURABLE_FALSE_POSITIVES if status == "unmeasurable" else RELIABLE_FALSE_POSITIVES
    return f"{status}: {nonmembers} non-members < {need / fpr:,.0f}"


def membership_metrics(y_true: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict:
    y_true = np.asarray(y_true, dtype=int)
    scores = np.asarray(scores, dtype=np.float64)
    decision = (scores >= threshold).astype(int)
    tpr1, fpr1 = tpr_at_fpr(y_true, scores, LOW_FPRS["1pct"])
    tpr01, fpr01 = tpr_at_fpr(y_true, scores, LOW_FPRS["0.1pct"])
    recall = recall_score(y_true, decision, zero_division=0)
    fpr = float(decision[y_true == 0].mean()) if (y_true == 0).any() else float("nan")
    return {
        "accuracy": float(accuracy_score(y_true, decision)),
        "precision": float(precision_score(y_true, decision, zero_division=0)),
        "recall": float(recall),
        "f1": float(f1_score(y_true, decision, zero_division=0)),
        "auc": float(roc_auc_score(y_true, scores)) if len(np.unique(y_true)) == 2 else float("nan"),
        "tpr_at_1pct_fpr": tpr1,
        "fpr_realised_at_1pct": fpr1,
        "tpr_at_0.1pct_fpr": tpr01,
        "fpr_realised_at_0.1pct": fpr01,
        "advantage": float(recall - fpr),
        "threshold": float(threshold),
        **{f"tpr_at_{name}_fpr_status": fpr_resolution(int((y_true == 0).sum()), level)
           for name, level in LOW_FPRS.items()},
    }


def collision_ceiling(X_train, X_eval_members, X_eval_nonmembers) -> dict:
    """How much of the member / non-member gap the features themselves erase.

    A black-box target answers identical inputs identically, so evaluation
    records sharing one feature vector are indistinguishable to any attack. The
    best any decision rule can do is to call each such group by its majority;
    ``ceiling_accuracy`` is the accuracy of that rule on this evaluation set.
    ``nonmember_collision_rate`` is the share of evaluation non-members whose
    vector equals some training member's vector. Records (dense or sparse) are
    compared by ``socinf.sparse.row_ids``, a hash of their non-zeros.
    """
    from socinf.sparse import row_ids

    train, members, nonmembers = row_ids(X_train), row_ids(X_eval_members), row_ids(X_eval_nonmembers)
    total = len(members) + len(nonmembers)
    groups, inverse = np.unique(np.concatenate([members, nonmembers]), return_inverse=True)
    per_group = [np.bincount(part, minlength=len(groups)) for part in (inverse[:len(members)], inverse[len(members):])]
    return {
        "nonmember_collision_rate": float(np.isin(nonmembers, train).mean()) if len(nonmembers) else float("nan"),
        "ceiling_accuracy": float(np.maximum(*per_group).sum() / total) if total else float("nan"),
        "distinct_eval_vectors": int(len(groups)),
    }
