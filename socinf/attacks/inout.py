"""Stage 2 — split X_s into "in" and "out" by k-means on the target's answers (paper III.C).

Per predicted class c, k-means with k=2 on the probability vectors Y_s^c; the
cluster whose centroid's probability for c lies closer to 1 is "in" (Fig. 4:
0.9 and 0.8 in; 0.4, 0.5 and 0.6 out). A class whose records all carry the
same answer cannot be split; its records all go to the side their common
probability for c is nearer to (>= 0.5 is "in").
"""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans


def kmeans_in_out_split(probs: np.ndarray, random_state: int = 0) -> np.ndarray:
    """Boolean mask over the rows of ``probs``: True where the record is "in"."""
    probs = np.asarray(probs, dtype=np.float64)
    predicted = probs.argmax(axis=1)
    is_in = np.zeros(len(probs), dtype=bool)
    for c in np.unique(predicted):
        rows = np.flatnonzero(predicted == c)
        Y = probs[rows]
        if len(np.unique(Y, axis=0)) < 2:
            is_in[rows] = Y[0, c] >= 0.5
            continue
        km = KMeans(n_clusters=2, n_init=10, random_state=random_state).fit(Y)
        in_cluster = int(np.argmax(km.cluster_centers_[:, c]))
        is_in[rows] = km.labels_ == in_cluster
    return is_in
