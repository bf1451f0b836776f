"""An empirical lower bound on the epsilon of (epsilon, delta)-differential privacy, from an attack's decisions.

If training is (epsilon, delta)-DP, every membership test "score >= t" obeys TPR <= e^epsilon FPR + delta and,
for its complement, TNR <= e^epsilon FNR + delta (the hypothesis-testing view of DP: Kairouz et al., ICML
2015; used to audit DP training by Jagielski et al., NeurIPS 2020, and Nasr et al., IEEE S&P 2021). Hence

    epsilon >= max( log((TPR - delta) / FPR), log((1 - FPR - delta) / (1 - TPR)) ).

The rates are measured on finitely many records, so the bound uses the Clopper-Pearson lower end of the TPR
and upper end of the FPR (``significance.clopper_pearson`` at ``level``; the two ends at (1 + level) / 2
each, so both hold together with probability >= ``level``), and it is a 95% lower bound: were the model
(epsilon, delta)-DP with a smaller epsilon, figures like these would be seen less than 5% of the time.

The threshold t (and, for the verdict, the attack) is chosen on one half of the evaluation records
(``split_halves``: members and non-members halved at random, seeded) and the bound is computed on the other
half only, so trying every threshold does not inflate it. It treats the evaluation records as independent
draws whose membership the random split decided, as the ML Privacy Meter's and TensorFlow Privacy's
empirical epsilon do; it is a bound on this model's leakage as measured, not a proof about the training
algorithm (that needs many training runs: Jagielski et al.; or Steinke et al. 2023 for one run).
"""
from __future__ import annotations

import numpy as np

from socinf.evaluation.significance import clopper_pearson

LEVEL = 0.95


def split_halves(membership: np.ndarray, seed: int) -> np.ndarray:
    """True for the records that choose the threshold, about half of the members and half of the non-members."""
    membership = np.asarray(membership, dtype=int)
    rng = np.random.default_rng([seed, 2020])
    choose = np.zeros(len(membership), bool)
    for side in (0, 1):
        where = np.flatnonzero(membership == side)
        choose[rng.permutation(where)[: len(where) // 2]] = True
    return choose


def epsilon_from_counts(tp, n1, fp, n0, delta: float, level: float = LEVEL) -> np.ndarray:
    """The lower bound (>= 0) for tests with ``tp`` of ``n1`` members and ``fp`` of ``n0`` non-members flagged."""
    tpr_low, _ = clopper_pearson(tp, n1, level)
    _, fpr_high = clopper_pearson(fp, n0, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        forward = np.log(np.maximum(tpr_low - delta, 0.0) / fpr_high)
        backward = np.log(np.maximum(1.0 - fpr_high - delta, 0.0) / (1.0 - tpr_low))
    bound = np.maximum(np.nan_to_num(forward, nan=0.0, neginf=0.0), np.nan_to_num(backward, nan=0.0, neginf=0.0))
    return np.maximum(bound, 0.0)


def _counts(scores: np.ndarray, membership: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Members and non-members with score >= each threshold."""
    inside = np.sort(scores[membership == 1])
    outside = np.sort(scores[membership == 0])
    tp = len(inside) - np.searchsorted(inside, thresholds, side="left")
    fp = len(outside) - np.searchsorted(outside, thresholds, side="left")
    return tp, fp


def _best_threshold(scores, membership, delta, level) -> tuple[float, float]:
    """(threshold, bound) that maximise the bound on these records."""
    thresholds = np.unique(scores)
    tp, fp = _counts(scores, membership, thresholds)
    bounds = epsilon_from_counts(tp, int(membership.sum()), fp, int((membership == 0).sum()), delta, level)
    best = int(np.argmax(bounds))
    return float(thresholds[best]), float(bounds[best])


def _held_out_bound(scores, membership, threshold, delta, level) -> dict:
    tp, fp = _counts(scores, membership, np.array([threshold]))
    n1, n0 = int(membership.sum()), int((membership == 0).sum())
    bound = float(epsilon_from_counts(tp, n1, fp, n0, delta, level)[0])
    return {"epsilon_lower_bound": bound, "threshold": threshold, "tpr": float(tp[0] / n1) if n1 else float("nan"),
            "fpr": float(fp[0] / n0) if n0 else float("nan"), "members": n1, "nonmembers": n0}


def epsilon_lower_bounds(scores_by_method: dict[str, np.ndarray], membership: np.ndarray, delta: float, seed: int,
                         level: float = LEVEL) -> dict:
    """``{"per_attack": {name: bound record}, "overall": bound record with "method"}``: each attack's threshold
    chosen on the choosing half; for ``overall`` the attack and its threshold both chosen there."""
    membership = np.asarray(membership, dtype=int)
    choose = split_halves(membership, seed)
    per_attack, chosen = {}, {}
    for name, scores in scores_by_method.items():
        scores = np.asarray(scores, dtype=np.float64)
        if not (membership[choose] == 1).any() or not (membership[choose] == 0).any():
            per_attack[name] = {"epsilon_lower_bound": 0.0, "threshold": None, "reason": "too few records to halve"}
            continue
        threshold, on_choosing = _best_threshold(scores[choose], membership[choose], delta, level)
        chosen[name] = on_choosing
        per_attack[name] = _held_out_bound(scores[~choose], membership[~choose], threshold, delta, level)
    overall = {"epsilon_lower_bound": 0.0, "method": None, "threshold": None}
    if chosen:
        name = max(chosen, key=lambda n: (chosen[n], n))
        overall = {**per_attack[name], "method": name}
    return {"per_attack": per_attack, "overall": overall, "delta": delta, "level": level,
            "threshold_chosen_on": "a random half of the evaluation records; the bound computed on the other half"}
