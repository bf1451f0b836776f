"""The label-only gap attack (Yeom et al. 2018; Choquette-Choo et al. 2021's "gap attack" baseline).

A record is called a member iff the target classifies it correctly: it needs
only the predicted label, so it is the natural baseline against
``defense=label_only`` (and works unchanged on full probability vectors). Its
advantage equals the gap between the target's train and test accuracy, which
is why the paper's Section V.C (avoid overfitting) is the defense against it.
"""
from __future__ import annotations

import numpy as np

GAP_THRESHOLD = 0.5  # scores are 0 or 1: member iff score >= 0.5, i.e. iff correctly classified


def gap_attack_scores(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """1.0 where the answer's predicted class (argmax; ties: lower class index) is the true label, else 0.0."""
    probs = np.asarray(probs, dtype=np.float64)
    return (probs.argmax(axis=1) == np.asarray(labels, dtype=int)).astype(np.float64)
