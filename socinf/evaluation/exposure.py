"""Exposure: which training records an audit finds most exposed (``exposure.csv``).

The evaluation members ranked by the strongest attack's score (the strongest at 1% FPR: the attack that singles
records out with the fewest false alarms), each with its record id, score, percentile among the non-members'
scores (100: it scores above every non-member, so the attack flags it before any false alarm) and label.
Texts are what an audit protects: they are included only when asked (``report.show_texts=true``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("rank", "record_id", "score", "nonmember_percentile", "label")


def nonmember_percentiles(scores: np.ndarray, nonmember_scores: np.ndarray) -> np.ndarray:
    """100 x the share of non-members scoring below each score (ties count one half)."""
    outside = np.sort(np.asarray(nonmember_scores, dtype=np.float64))
    if not len(outside):
        return np.full(len(scores), np.nan)
    below = np.searchsorted(outside, scores, side="left")
    tied = np.searchsorted(outside, scores, side="right") - below
    return 100.0 * (below + 0.5 * tied) / len(outside)


def exposure_table(record_ids, membership, scores, labels, class_names=None, texts=None) -> pd.DataFrame:
    """One row per evaluation member, most exposed first; ``texts`` (one per evaluation record) adds a column."""
    membership, scores = np.asarray(membership, dtype=int), np.asarray(scores, dtype=np.float64)
    inside = np.flatnonzero(membership == 1)
    order = inside[np.argsort(-scores[inside], kind="stable")]
    labels = np.asarray(labels)[order]
    shown = [class_names[int(c)] for c in labels] if class_names is not None else labels.tolist()
    table = pd.DataFrame({"rank": np.arange(1, len(order) + 1), "record_id": np.asarray(record_ids)[order],
                          "score": scores[order],
                          "nonmember_percentile": nonmember_percentiles(scores[order], scores[membership == 0]),
                          "label": shown})
    if texts is not None:
        table["text"] = [texts[i] for i in order]
    return table
