"""The paper's features: binary presence of emotion keywords (Section IV.A).

Keywords are chosen per class, one class against the rest, from the target
owner's training half only (the attacker never sees those texts; the keyword
list is the API's input format, which the attacker does know). Ranking is the
chi-squared statistic of the 2x2 term/class table (default) or a smoothed
log-odds ratio; only terms positively associated with the class qualify.
English: lower-cased word tokens, ``#`` stripped from hashtags. Chinese:
character n-grams, matched by substring presence, so no segmenter is needed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from socinf.data.dataset_config import KEYWORD_METHODS
from socinf.errors import ConfigError

_EN_TOKEN = re.compile(r"[a-z0-9']+")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")

# The paper's keyword counts (Section IV.A); Weibo's lists are per emotion.
PAPER_KEYWORDS: dict[tuple[str, int], dict[str, int] | int] = {
    ("tweet", 2): 200,
    ("tweet", 4): 200,
    ("weibo", 3): {"positive": 22, "negative": 28, "neutral": 23},
    ("weibo", 5): {"angry": 20, "fear": 20, "happy": 20, "sad": 20, "surprise": 16},
}


def english_tokens(text: str) -> set[str]:
    text = re.sub(r"@\w+", " ", text.lower()).replace("#", " ")
    return {t.strip("'") for t in _EN_TOKEN.findall(text) if t.strip("'")}


def chinese_ngrams(text: str, n_min: int, n_max: int) -> set[str]:
    grams: set[str] = set()
    for run in _CJK_RUN.findall(text):
        for n in range(n_min, n_max + 1):
            grams.update(run[i : i + n] for i in range(len(run) - n + 1))
    return grams


def keywords_per_class(dataset: str, class_names: list[str], n_keywords: int | None, explicit: list[int] | None) -> list[int]:
    """How many keywords each class contributes: explicit list, paper default, or an even split."""
    k = len(class_names)
    if explicit is not None:
        if len(explicit) != k or min(explicit) < 1:
            raise ConfigError(f"dataset.keywords_per_class={list(explicit)}: expected {k} positive counts, one per class {class_names}")
        return list(explicit)
    paper = PAPER_KEYWORDS.get((dataset, k))
    if n_keywords is None and isinstance(paper, dict):
        return [paper[c] for c in class_names]
    total = n_keywords if n_keywords is not None else (paper if isinstance(paper, int) else 200)
    if total < k:
        raise ConfigError(f"dataset.n_keywords={total}: need at least one keyword per class ({k} classes)")
    return [total // k + (1 if i < total % k else 0) for i in range(k)]


def _term_matrix(token_sets: list[set[str]], min_df: int) -> tuple[np.ndarray, list[str]]:
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(analyzer=lambda s: s, binary=True, min_df=min_df)
    try:
        M = vec.fit_transform(token_sets)
    except ValueError:  # no term reaches min_df
        return np.zeros((len(token_sets), 0), dtype=np.uint8), []
    return M.tocsc(), list(vec.get_feature_names_out())


def _class_scores(M, in_class: np.ndarray, method: str) -> np.ndarray:
    n, n_c = len(in_class), int(in_class.sum())
    a = np.asarray(M[in_class].sum(axis=0)).ravel().astype(float)  # term & class
    df = np.asarray(M.sum(axis=0)).ravel().astype(float)
    b = df - a  # term & other classes
    c, d = n_c - a, (n - n_c) - b
    positive = a / max(n_c, 1) > b / max(n - n_c, 1)
    if method == "chi2":
        den = (a + b) * (c + d) * (a + c) * (b + d)
        score = n * (a * d - b * c) ** 2 / np.where(den > 0, den, 1.0)
    elif method == "logodds":
        score = np.log((a + 0.5) / (c + 0.5)) - np.log((b + 0.5) / (d + 0.5))
    else:
        raise ConfigError(f"dataset.keyword_method={method!r}: expected one of {', '.join(KEYWORD_METHODS)}")
    return np.where(positive, score, -np.inf)


@dataclass
class KeywordFeaturizer:
    """Fit on the target owner's training texts; transform any text to 0/1 keyword presence."""

    language: str
    counts: list[int]
    method: str = "chi2"
    min_df: int = 3
    ngram_min: int = 2
    ngram_max: int = 3
    keywords_: list[str] | None = None
    keyword_class_: list[int] | None = None

    def _units(self, text: str) -> set[str]:
        if self.language == "en":
            return english_tokens(text)
        return chinese_ngrams(text, self.ngram_min, self.ngram_max)

    def fit(self, texts: list[str], labels: np.ndarray) -> "KeywordFeaturizer":
        M, vocab = _term_matrix([self._units(t) for t in texts], self.min_df)
        chosen: list[str] = []
        owner: list[int] = []
        taken = np.zeros(len(vocab), dtype=bool)
        for cls, k in enumerate(self.counts):
            scores = _class_scores(M, np.asarray(labels) == cls, self.method) if vocab else np.zeros(0)
            order = [j for j in np.argsort(-scores, kind="stable") if np.isfinite(scores[j]) and not taken[j]]
            for j in order[:k]:
                taken[j] = True
                chosen.append(vocab[j])
                owner.append(cls)
        self.keywords_, self.keyword_class_ = chosen, owner
        return self

    def transform(self, texts: list[str]):
        """0/1 keyword presence as a ``scipy.sparse`` CSR uint8 matrix (a post holds a handful of keywords; uint8
        as the dense arrays of ``dataset.features=dense``, so a model reads either in the same precision).

        A keyword is present where it is one of the text's units: an English token, or for Chinese a
        character n-gram of a CJK run, which is the same as substring presence (a keyword is made of CJK
        characters only, so any occurrence lies inside one run)."""
        from scipy import sparse

        assert self.keywords_ is not None, "fit first"
        index = {w: j for j, w in enumerate(self.keywords_)}
        indices, indptr = [], [0]
        for text in texts:
            row = sorted(index[u] for u in self._units(text) if u in index)
            indices.extend(row)
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.uint8)
        return sparse.csr_matrix((data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
                                 shape=(len(texts), len(self.keywords_)))
