"""The severity grade of a verdict: none / low / medium / high, written once here (rationale: docs/verdict-and-report.md).

A grade reads the strongest attacks' figures at their cautious end, the lower end of their 95% intervals: the
Clopper-Pearson lower bound of the TPR at 1% FPR (Carlini et al. 2022: what matters is how many training
records an attacker singles out with few false alarms; at 1% FPR a TPR of t is t / 1% times chance) and the
lower end of the AUC's interval (how well members are ranked above non-members on the whole).

- none: no leak detected (no attack beats chance at alpha, Holm-corrected over every attack);
- low: a leak is detected, below every threshold of "medium";
- medium: at least 2% of the training records identified at 1% FPR (twice chance), or an AUC of at least 0.6;
- high: at least 10% identified at 1% FPR (ten times chance: one training record in ten exposed with ten
  members flagged for each false alarm), or an AUC of at least 0.8.
"""
from __future__ import annotations

GRADES = ("none", "low", "medium", "high")
# grade: (TPR at 1% FPR, lower end, at least; AUC, lower end, at least) -- either one suffices
THRESHOLDS = {"high": (0.10, 0.80), "medium": (0.02, 0.60)}


def grade(leak_detected: bool, tpr_low: float | None, auc_low: float | None) -> str:
    """The grade of a verdict from the lower ends of the strongest TPR at 1% FPR and AUC."""
    if not leak_detected:
        return "none"
    for name in ("high", "medium"):
        tpr_min, auc_min = THRESHOLDS[name]
        if (tpr_low is not None and tpr_low >= tpr_min) or (auc_low is not None and auc_low >= auc_min):
            return name
    return "low"
