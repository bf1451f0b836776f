"""SocInf's self-checks: an attack that cannot work says so instead of reporting a number (issue 10).

Each check returns ``{"ok": bool, "value": float | None, "reason": str}``; ``metrics.json`` holds them under
``attack.diagnostics`` and the run summary prints a warning line when one fails. Every check reads
attacker-side data only: the synthetic records X_s, the target's answers to them, the stage 2 in/out split,
the mimic's held-out records, and the attack's scores on the evaluation answers. Evaluation membership is
never an input, so a check cannot be tuned on, or leak, the secret it is meant to guard.

- ``inout_split``: both sides of the k-means split (paper III.C) hold at least ``MIN_SIDE_SHARE`` of X_s;
  otherwise the attack model learns from a handful of records (or none: a constant score).
- ``mimic_agreement`` / ``mimic_abs_diff``: the mimic (III.D) imitates the target on held-out "in" records:
  its label agreement beats the majority-label rate by at least ``MIN_AGREEMENT_GAIN`` of the remaining
  distance to 1, and its probabilities differ from the target's by at most ``MAX_ABS_DIFF`` on average.
- ``score_spread``: the attack's scores on the evaluation answers spread over at least ``MIN_SPREAD``
  (10th to 90th percentile); a near-constant score ranks records by noise.
- ``orientation``: the attack model (trained on the mimic's answers) applied to the *target's* answers on X_s
  ranks the "in" side above the "out" side (ROC AUC > ``MIN_ORIENTATION_AUC``). The in/out labels are the
  attacker's own k-means split, so this uses no evaluation record; an AUC below 0.5 means the model's
  ranking is inverted once it sees real target answers. With ``mimic.orient`` (default; off in
  ``mimic=gan_paper``) SocInf then flips its score; the check still reports the failure.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

MIN_SIDE_SHARE = 0.05
MIN_AGREEMENT_GAIN = 0.3
MAX_ABS_DIFF = 0.2
MIN_SPREAD = 0.05
MIN_ORIENTATION_AUC = 0.5

CHECKS = ("inout_split", "mimic_agreement", "mimic_abs_diff", "score_spread", "orientation")


def check(ok: bool, value, reason: str) -> dict:
    finite = value is not None and np.isfinite(value)
    return {"ok": bool(ok), "value": float(value) if finite else None, "reason": reason}


def inout_split(is_in: np.ndarray) -> dict:
    share = float(np.mean(is_in)) if len(is_in) else float("nan")
    smaller = min(share, 1 - share) if len(is_in) else 0.0
    ok = smaller >= MIN_SIDE_SHARE
    reason = (f"in/out split {int(np.sum(is_in))}/{int(len(is_in) - np.sum(is_in))} (share in {share:.3f})"
              + ("" if ok else f": one side holds < {MIN_SIDE_SHARE:.0%} of the synthetic records"))
    return check(ok, share, reason)


def mimic_agreement(p_mimic: np.ndarray, p_target: np.ndarray) -> dict:
    if len(p_target) == 0:
        return check(False, None, "no held-out records to measure the mimic on")
    labels = p_target.argmax(1)
    agreement = float((p_mimic.argmax(1) == labels).mean())
    majority = float(np.bincount(labels).max() / len(labels))
    needed = majority + MIN_AGREEMENT_GAIN * (1 - majority)
    ok = agreement >= needed - 1e-12
    reason = (f"mimic label agreement {agreement:.3f} on held-out synthetic records "
              + (f"(>= {needed:.3f})" if ok else f"< {needed:.3f} (majority label alone: {majority:.3f}): "
                 "the mimic does not imitate the target"))
    return check(ok, agreement, reason)


def mimic_abs_diff(p_mimic: np.ndarray, p_target: np.ndarray) -> dict:
    if len(p_target) == 0:
        return check(False, None, "no held-out records to measure the mimic on")
    diff = float(np.abs(p_mimic - p_target).mean())
    ok = diff <= MAX_ABS_DIFF
    reason = (f"mean |p_mimic - p_target| {diff:.3f} on held-out synthetic records "
              + (f"(<= {MAX_ABS_DIFF})" if ok else f"> {MAX_ABS_DIFF}: the mimic's answers are not the target's"))
    return check(ok, diff, reason)


def score_spread(scores: np.ndarray) -> dict:
    scores = np.asarray(scores, dtype=np.float64)
    spread = float(np.percentile(scores, 90) - np.percentile(scores, 10)) if len(scores) else float("nan")
    ok = bool(spread >= MIN_SPREAD)
    reason = (f"attack scores' 10-90th percentile spread {spread:.3f}"
              + ("" if ok else f" < {MIN_SPREAD}: the score is almost constant, its ranking is noise"))
    return check(ok, spread, reason)


def orientation(scores_on_target: np.ndarray, is_in: np.ndarray) -> dict:
    if is_in.all() or not is_in.any():
        return check(False, None, "orientation unknown: the in/out split has one side only")
    auc = float(roc_auc_score(is_in.astype(int), scores_on_target))
    ok = auc > MIN_ORIENTATION_AUC
    reason = (f"on the target's answers to X_s the attack ranks its own 'in' records above 'out' with AUC {auc:.3f}"
              + ("" if ok else f" <= {MIN_ORIENTATION_AUC}: the ranking is inverted or flat on real target answers"))
    return check(ok, auc, reason)


def should_flip(orientation_check: dict, orient: bool) -> bool:
    """``mimic.orient``: an inverted ranking on attacker-side data is turned around (the check stays failed, its
    reason says so); a flat or unknown one is left alone."""
    value = orientation_check["value"]
    flip = bool(orient and value is not None and value < MIN_ORIENTATION_AUC)
    if flip:
        orientation_check["reason"] += "; SocInf flipped its score (mimic.orient=true)"
    return flip


def fit_checks(is_in: np.ndarray, p_mimic: np.ndarray, p_target: np.ndarray, scores_on_target: np.ndarray) -> dict:
    """The checks a SocInf fit can make: its split, its mimic on held-out records (``p_mimic`` vs ``p_target``)
    and its attack model's scores on the target's answers to every synthetic record."""
    return {"inout_split": inout_split(is_in), "mimic_agreement": mimic_agreement(p_mimic, p_target),
            "mimic_abs_diff": mimic_abs_diff(p_mimic, p_target), "orientation": orientation(scores_on_target, is_in)}


def failed(diagnostics: dict) -> list[str]:
    """Names of the checks that failed, in their report order."""
    return [name for name, d in (diagnostics or {}).items() if not d["ok"]]
