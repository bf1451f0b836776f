"""A small labelled English corpus the tests generate themselves (no download, no network).

Tweets of four emotions: a few words of their emotion (real emotion words first, then made-up ones so each
class has enough distinct keywords for the paper's 200), common filler words, and now and then a word of
another emotion. Written in the EmoInt layout (``<folder>/<emotion>-ratings-0to1.<split>.txt``) so the real
loader reads it, or as a keyword-presence CSV for ``dataset=csv``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EMOTIONS = {
    "anger": ["furious", "rage", "hate", "annoyed", "outraged", "mad"],
    "fear": ["scared", "afraid", "terrified", "nervous", "panic", "dread"],
    "joy": ["happy", "delighted", "love", "smile", "cheerful", "great"],
    "sadness": ["sad", "lonely", "cry", "miserable", "gloomy", "tears"],
}
FILLER = ["today", "the", "game", "work", "my", "friend", "weather", "news", "train", "coffee", "phone", "again",
          "just", "really", "so", "this", "that", "people", "morning", "night"]
SPLITS = {"train": 0.6, "dev": 0.1, "test": 0.3}


def _made_up_words(rng, n: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ren", "tu", "vas", "po", "zi", "gor", "an", "bel", "shu", "dra", "fen", "qui"]
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(syllables, 3)))
    return sorted(words)


def english_corpus(n_per_class: int, seed: int = 0, extra_words: int = 50) -> pd.DataFrame:
    """Columns text, label, split."""
    rng = np.random.default_rng(seed)
    pool = _made_up_words(rng, extra_words * len(EMOTIONS))
    vocab = {e: words + pool[i * extra_words:(i + 1) * extra_words] for i, (e, words) in enumerate(EMOTIONS.items())}
    rows = []
    for label, words in vocab.items():
        weights = 1.0 / np.sqrt(np.arange(1, len(words) + 1))  # the real emotion words are the common ones
        others = [w for e, ws in vocab.items() if e != label for w in ws[:6]]
        for i in range(n_per_class):
            tokens = list(rng.choice(words, rng.integers(2, 5), p=weights / weights.sum()))
            tokens += list(rng.choice(FILLER, rng.integers(2, 7)))
            if rng.random() < 0.3:
                tokens.append(rng.choice(others))
            split = rng.choice(list(SPLITS), p=list(SPLITS.values()))
            rows.append((" ".join(rng.permutation(tokens)), label, split))
    return pd.DataFrame(rows, columns=["text", "label", "split"])


def write_emoint(corpus: pd.DataFrame, folder: Path) -> Path:
    """The EmoInt layout: one tab-separated file per emotion and split (id, tweet, emotion, intensity)."""
    folder.mkdir(parents=True, exist_ok=True)
    for emotion in EMOTIONS:
        for split in SPLITS:
            part = corpus[(corpus.label == emotion) & (corpus.split == split)]
            name = f"{emotion}-ratings-0to1.{'train' if split == 'train' else split + '.gold'}.txt"
            lines = [f"{i}\t{text}\t{emotion}\t0.5\n" for i, text in enumerate(part.text)]
            (folder / name).write_text("".join(lines), encoding="utf-8")
    return folder


def keyword_table(corpus: pd.DataFrame, n_words: int = 60) -> pd.DataFrame:
    """Presence (0/1) of the ``n_words`` most frequent words, and the label: a CSV corpus (``dataset=csv``)."""
    tokens = corpus["text"].str.split()
    vocab = tokens.explode().value_counts().index[:n_words]
    sets = tokens.apply(set)
    return pd.DataFrame({f"has_{w}": sets.apply(lambda t, w=w: int(w in t)) for w in vocab}).assign(
        label=corpus["label"].to_numpy())


def keyword_records(n: int, n_keywords: int, per_record: float = 8.0, n_classes: int = 2, seed: int = 0,
                    zipf: float = 1.1, noise: float = 0.5):
    """(X, y): ``n`` keyword-like records, X a ``scipy.sparse`` CSR float32 matrix of 0/1 presence.

    Keywords follow Zipf's law over ``n_keywords`` ranks (weight 1 / rank**zipf), a record holds 1 + Poisson
    (``per_record`` - 1) draws (repeats merged: slightly fewer distinct keywords), and the label is the
    argmax of a planted linear rule (one standard normal weight per keyword and class, centred per class) plus
    Gumbel noise of scale ``noise``. Built from its non-zeros: memory grows with n x per_record, never n x n_keywords (the
    bench runs it at 3M x 50,000; tests/test_sparse.py at 50,000 x 200,000)."""
    from scipy import sparse

    rng = np.random.default_rng([seed, 22])
    weights = 1.0 / np.arange(1, n_keywords + 1) ** zipf
    cdf = np.cumsum(weights / weights.sum())
    counts = 1 + rng.poisson(per_record - 1, n)
    columns = np.minimum(np.searchsorted(cdf, rng.random(int(counts.sum()))), n_keywords - 1).astype(np.int32)
    columns = rng.permutation(n_keywords).astype(np.int32)[columns]  # frequent keywords spread over the columns
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    X = sparse.csr_matrix((np.ones(len(columns), np.float32), columns, indptr), shape=(n, n_keywords))
    X.sum_duplicates()
    X.data[:] = 1.0
    rule = np.random.default_rng([seed, 23]).standard_normal((n_keywords, n_classes)).astype(np.float32)
    scores = np.asarray(X @ rule)
    scores -= scores.mean(axis=0)  # about as many records in every class
    return X, (scores - noise * np.log(-np.log(rng.random((n, n_classes))))).argmax(axis=1)
