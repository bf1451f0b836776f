"""The paper's Table II decoded: which evaluation set each (accuracy, precision, recall) triple implies.

SocInf (IEEE TCSS 2019) Table II reports attack accuracy a, precision p and recall r per cell, but not
the share of members pi in the evaluation set. A triple fixes it. With TPR = r, the true-positive share
is t = pi * r; precision p = t / (t + f) gives the false-positive share f = t (1 - p) / p; accuracy is
a = t + (1 - pi) - f (true positives plus true negatives). Substituting t and f:

    a = pi r + 1 - pi - pi r (1 - p) / p   =>   pi = (1 - a) / (1 - 2 r + r / p),
    FPR = f / (1 - pi) = pi r (1 - p) / (p (1 - pi)).

Several cells imply pi well above 1/2 (about 2/3 to 3/4 members on Tweet): their accuracies are not
those of a balanced member / non-member set. Ours are (eval.size members and as many non-members), so
the figure comparable with ours is the balanced accuracy the triple implies, (TPR + 1 - FPR) / 2, which
a balanced set would have produced at the same TPR and FPR. Our own balanced accuracy is
(1 + advantage) / 2 = (TPR + 1 - FPR) / 2 of the run's decisions.
"""
from __future__ import annotations

import math

import pandas as pd

from socinf.report.frame import paper_table2


def decode(accuracy: float, precision: float, recall: float) -> dict[str, float]:
    """Member share, TPR, FPR and balanced accuracy implied by one (accuracy, precision, recall) triple."""
    denominator = 1 - 2 * recall + recall / precision if precision else math.nan
    share = (1 - accuracy) / denominator if denominator else math.nan
    fpr = share * recall * (1 - precision) / (precision * (1 - share)) if share != 1 else math.nan
    return {"member_share": share, "tpr": recall, "fpr": fpr, "balanced_accuracy": (recall + 1 - fpr) / 2}


def encode(member_share: float, tpr: float, fpr: float) -> dict[str, float]:
    """Accuracy, precision and recall of decisions with this TPR and FPR on a set with this member share."""
    true_pos, false_pos = member_share * tpr, (1 - member_share) * fpr
    return {"accuracy": true_pos + (1 - member_share) * (1 - fpr),
            "precision": true_pos / (true_pos + false_pos), "recall": tpr}


def decoded_paper() -> pd.DataFrame:
    """One row per Table II cell: the paper's triple and what it implies."""
    wide = paper_table2().pivot_table(index=["dataset", "target"], columns="metric", values="value", sort=False)
    rows = []
    for (dataset, target), triple in wide.iterrows():
        implied = decode(triple.accuracy, triple.precision, triple.recall)
        rows.append({"dataset": dataset, "target": target, "paper_accuracy": triple.accuracy,
                     "paper_precision": triple.precision, "paper_recall": triple.recall,
                     **{f"paper_{k}": v for k, v in implied.items() if k != "tpr"}})
    return pd.DataFrame(rows)
