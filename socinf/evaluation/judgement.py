"""The verdict in words: does the model leak, how much, how sure, for which threat model, and what qualifies it.

``judge`` turns the evidence of an audit (``verdict.evidence``: p-values, epsilon bounds, the blind baseline,
the target's utility) and its strongest attacks into the ``verdict`` block of metrics.json:

- ``leak_detected`` at ``alpha``: some attack's Holm-adjusted one-sided p-value is at most alpha; ``p_value`` is
  the smallest adjusted one (the family's);
- ``tpr_at_1pct_fpr``: the strongest attack at 1% FPR with the Clopper-Pearson intervals of its TPR and FPR;
- ``severity`` (``severity.grade``), ``epsilon_lower_bound`` (and the claimed epsilon of a DP target),
  ``blind_baseline_auc``, ``threat``, one ``sentence`` and ``warnings`` (code and message each): the target's
  test accuracy at chance, an evaluation too small for a 1% FPR, a blind baseline within the strongest attack's
  interval, failed SocInf self-checks, an epsilon bound above the claimed epsilon.
"""
from __future__ import annotations

from socinf.evaluation.metrics import LOW_FPRS, RELIABLE_FALSE_POSITIVES
from socinf.evaluation.severity import grade
from socinf.evaluation.verdict import tpr_interval
from socinf.owner.defense_config import DEFENSES, TRAINING_DEFENSES

FPR = LOW_FPRS["1pct"]
DEFENSE_WORDS = {"dp": "differentially private training", "regularize": "stronger regularisation",
                 "round": "rounded answers", "top_k": "only the top-k probabilities", "label_only": "labels only"}


def threat_words(threat: str | None, population: int | None) -> str:
    """Who the verdict speaks of: the outside attacker (what it holds) or the owner's worst case."""
    if threat == "owner":
        return ("In the owner's worst case, an adversary who can query this model and knows its training data's "
                "distribution and procedure")
    holds = (f"holds {population:,} labelled records of the same population" if population
             else "knows only its input format")
    return f"An attacker who can query this model and {holds}"


def _sentence(leak: bool, who: str, by_auc: dict, by_tpr: dict, p_value: float, alpha: float, attacks: int) -> str:
    lo, hi = by_auc["auc_ci95"]
    auc = f"AUC {by_auc['auc']:.3f} [{lo:.3f}, {hi:.3f}]"
    names = by_auc["method"] if by_auc["method"] == by_tpr["method"] else \
        f"{by_auc['method']} (by AUC), {by_tpr['method']} (at {FPR:.0%} FPR)"
    if not leak:
        return (f"No leak detected: {who[0].lower() + who[1:]} tells members from non-members no better than chance "
                f"(p = {p_value:.2g}, Holm-corrected over {attacks} attacks, alpha = {alpha:g}); {auc}; "
                f"strongest attack: {names}.")
    tpr = by_tpr["tpr_at_1pct_fpr"]
    offered = [*TRAINING_DEFENSES, *(d for d in DEFENSES if d not in TRAINING_DEFENSES and d != "none")]
    defenses = ", ".join(f"defense={d} ({DEFENSE_WORDS.get(d, d)})" for d in offered)
    return (f"{who} identifies {tpr:.1%} of its training records at a {FPR:.0%} false-alarm rate "
            f"({tpr / FPR:.1f}x chance); {auc}; strongest attack: {names} (p = {p_value:.2g}, Holm-corrected over "
            f"{attacks} attacks). Defenses socinf offers: {defenses}.")


def _claim(target: dict | None) -> dict | None:
    defense = (target or {}).get("defense") or {}
    if defense.get("name") != "dp":
        return None
    spent = defense.get("epsilon_spent")
    return {"epsilon": spent if spent is not None else defense.get("epsilon"), "delta": defense.get("delta") or 0.0}


def _utility_warning(u: dict) -> list[dict]:
    if not u or u["test_accuracy_ci95"][0] > u["chance_accuracy"]:
        return []
    lo, hi = u["test_accuracy_ci95"]
    return [{"code": "chance_utility", "message": (
        f"the target's test accuracy {u['test_accuracy']:.3f} [{lo:.3f}, {hi:.3f}] on {u['nonmembers']} non-members is "
        f"not above chance ({u['chance_accuracy']:.3f}, always answering the most common class): a model that learned "
        "nothing leaks little, so a low verdict here says nothing about a useful model")}]


def _size_warning(tpr: dict) -> list[dict]:
    if tpr.get("status") in (None, "ok"):
        return []
    need = RELIABLE_FALSE_POSITIVES / FPR
    return [{"code": "small_evaluation", "message": (
        f"{tpr['nonmembers']} non-members are too few for a {FPR:.0%} false-positive rate (fewer than {need:,.0f} = "
        f"10/FPR): the TPR at {FPR:.0%} FPR rests on {round(tpr['fpr'] * tpr['nonmembers'])} false positive(s)")}]


def _blind_warning(blind: dict, by_auc: dict, leak: bool) -> list[dict]:
    """Said when the blind baseline reaches the strongest attack's interval and it matters: a leak was
    detected, or the baseline itself beats chance (its interval above 0.5)."""
    if blind.get("auc") is None or blind["auc"] < by_auc["auc_ci95"][0]:
        return []
    if not leak and not (blind.get("auc_ci95") and blind["auc_ci95"][0] > 0.5):
        return []
    return [{"code": "blind_baseline", "message": (
        f"the blind baseline, which never queries the model, reaches AUC {blind['auc']:.3f}, within or above the "
        f"strongest attack's interval [{by_auc['auc_ci95'][0]:.3f}, {by_auc['auc_ci95'][1]:.3f}]: members and "
        "non-members differ in distribution, and the attacks may measure that rather than the model")}]


def _diagnostic_warnings(metrics_by_method: dict) -> list[dict]:
    out = []
    for name, metrics in metrics_by_method.items():
        failed = {k: d for k, d in (metrics.get("diagnostics") or {}).items() if not d["ok"]}
        if failed:
            reasons = "; ".join(f"{k}: {d['reason']}" for k, d in failed.items())
            out.append({"code": "diagnostics", "message": f"{name}'s self-checks failed ({reasons})"})
    return out


def _epsilon(evidence: dict, claim: dict | None) -> tuple[dict, list[dict]]:
    bounds = evidence["epsilon"]
    block = {"value": bounds["overall"]["epsilon_lower_bound"], "method": bounds["overall"].get("method"),
             "delta": bounds["delta"], "level": bounds["level"], "threshold_chosen_on": bounds["threshold_chosen_on"],
             "per_attack": {n: b["epsilon_lower_bound"] for n, b in bounds["per_attack"].items()}}
    if claim is None:
        return block, []
    block.update(claimed=claim["epsilon"], claimed_delta=claim["delta"])
    warnings = []
    if claim["delta"] > bounds["delta"]:
        warnings.append({"code": "epsilon_delta", "message": (
            f"the epsilon bound assumes delta = {bounds['delta']:g}, below the claimed delta = {claim['delta']:g}; "
            f"set verdict.delta={claim['delta']:g} to compare the two")})
    elif claim["epsilon"] is not None and block["value"] > claim["epsilon"]:
        warnings.append({"code": "epsilon_exceeds_claim", "message": (
            f"EPSILON LOWER BOUND {block['value']:.3f} EXCEEDS THE CLAIMED EPSILON {claim['epsilon']:g}: the model "
            "cannot be as private as its DP training claims; its DP training or privacy accounting is wrong, or its "
            "members and non-members differ in distribution (see the blind baseline)")})
    return block, warnings


def judge(evidence: dict, strongest: dict, metrics_by_method: dict, target: dict | None = None,
          threat: str | None = None, population: int | None = None) -> dict:
    """The verdict block of metrics.json (see the module docstring)."""
    if not strongest or not evidence:
        return {}
    by_auc, by_tpr = strongest["by_auc"], strongest["by_tpr_at_1pct_fpr"]
    adjusted = {n: p["holm"] for n, p in evidence["p_values"].items()}
    p_value, alpha = min(adjusted.values()), evidence["alpha"]
    leak = p_value <= alpha
    tpr = {"method": by_tpr["method"], **tpr_interval(by_tpr, evidence["members"], evidence["nonmembers"])}
    epsilon, eps_warnings = _epsilon(evidence, _claim(target))
    blind = evidence["blind_baseline"]
    warnings = (eps_warnings + _utility_warning(evidence["utility"]) + _size_warning(tpr) + _blind_warning(blind, by_auc, leak)
                + _diagnostic_warnings(metrics_by_method))
    who = threat_words(threat, population)
    return {"leak_detected": bool(leak), "alpha": alpha, "p_value": p_value, "attacks_tested": len(adjusted),
            "severity": grade(leak, tpr["ci95"][0], by_auc["auc_ci95"][0]),
            "sentence": _sentence(leak, who, by_auc, by_tpr, p_value, alpha, len(adjusted)),
            "threat": threat or "attacker", "auc": {k: by_auc.get(k) for k in ("method", "auc", "auc_ci95", "auc_ci_method")},
            "tpr_at_1pct_fpr": tpr, "epsilon_lower_bound": epsilon["value"], "epsilon": epsilon,
            "blind_baseline_auc": blind.get("auc"), "blind_baseline": blind, "utility": evidence["utility"],
            "p_values": evidence["p_values"], "warnings": warnings}
