"""Example data for library users: a corpus as a keyword feature matrix, as scikit-learn's ``load_*`` helpers.

``load_keywords("tweet", num_classes=4)`` gives (X, y): binary presence of the paper's keywords (Section
IV.A), chosen by chi-squared on the texts returned. For an audit this is the owner's view of the data: the
keyword list is the model's input format. ``sparse=True`` returns X as a ``scipy.sparse`` CSR matrix (memory
with the keywords present: docs/sparse.md), else a dense uint8 array. Files come from ``data_dir`` (default ``SOCINF_DATA_DIR``) or,
without one, from the data home (downloaded there when missing), each checked against its pinned SHA-256.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from socinf.data.features import KeywordFeaturizer, keywords_per_class
from socinf.data.fetch import data_home, resolve_corpus_dir
from socinf.data.loaders import load_corpus


def load_keywords(name: str, num_classes: int, per_class: int | None = None, n_keywords: int | None = None,
                  seed: int = 0, data_dir: str | Path | None = None, sparse: bool = False) -> tuple:
    """(X, y) of corpus ``name`` (tweet | weibo | clue) at ``num_classes``; ``per_class`` caps each class."""
    data_dir = data_dir or os.environ.get("SOCINF_DATA_DIR")
    folder = resolve_corpus_dir(name, data_dir, data_home(), download=not data_dir)  # as `socinf run` finds it
    corpus = load_corpus(name, num_classes, folder, per_class, seed)
    counts = keywords_per_class(name, corpus.class_names, n_keywords, None)
    featurizer = KeywordFeaturizer(corpus.language, counts).fit(corpus.texts, corpus.labels)
    X = featurizer.transform(corpus.texts)
    return (X if sparse else X.toarray().astype(np.uint8)), corpus.labels
