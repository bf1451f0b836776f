"""From a dataset's settings to feature matrix and splits: everything the target owner and attacker start from
(paper IV.A). ``prepare_data`` takes a ``DatasetConfig`` and an ``EvalConfig`` (or Hydra nodes of that shape)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from socinf.cache import StageCache, content_key
from socinf.data.dataset_config import USER_FILES, DatasetConfig
from socinf.data.features import KeywordFeaturizer, keywords_per_class
from socinf.data.splits import Splits, make_splits
from socinf.errors import ConfigError, DataError
from socinf.io import plain

DISPLAY_NAMES = {"tweet": "Tweet", "weibo": "Weibo", "clue": "CLUE", "csv": "CSV", "text": "Text"}


def dataset_label(name: str, num_classes) -> str:
    """The row name of the paper's Table II, e.g. "Tweet(4)"."""
    return f"{DISPLAY_NAMES.get(name, name)}({num_classes})"


@dataclass
class PreparedData:
    label: str  # e.g. "Tweet(4)", as the paper's Table II names rows
    X: Any  # features of every corpus record: a scipy.sparse CSR matrix or a dense array (dataset.features)
    y: np.ndarray
    class_names: list[str]
    feature_names: list[str]
    splits: Splits
    corpus_info: dict  # counts, dedup, keyword method

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


NOT_IN_DATA = ("shuffle_membership",)  # evaluation settings that leave the features and splits as they are


def data_key(dataset, evaluation, seed: int) -> str:
    """Content hash of what features and splits depend on: dataset settings, evaluation settings, seed."""
    evaluation = {k: v for k, v in plain(evaluation).items() if k not in NOT_IN_DATA}
    return content_key("data", plain(dataset), evaluation, seed)


def corpus_source(dataset, data_root: Path, data_dir: str | None = None, url_base: str | None = None,
                  download: bool = True) -> Path:
    """The verified corpus folder (every file's SHA-256 checked; fetched into ``data_root`` if missing and
    ``download``), or the user's own file (``dataset.path``) for csv and text."""
    from socinf.data.fetch import resolve_corpus_dir

    if dataset.name in USER_FILES:
        return Path(dataset.path)
    return resolve_corpus_dir(dataset.name, data_dir, data_root, download=download, url_base=url_base, progress=True)


def _load(ds, seed: int, source: Path):
    from socinf.data.loaders import load_corpus, load_csv_corpus, load_text_corpus

    if ds.name == "csv":
        return load_csv_corpus(source, ds.label_column)
    if ds.name == "text":
        corpus = load_text_corpus(source, ds.text_column, ds.label_column, ds.language, ds.per_class, seed)
        if ds.num_classes is not None and ds.num_classes != len(corpus.class_names):
            raise DataError(f"{source}: {len(corpus.class_names)} classes ({', '.join(corpus.class_names)}), but "
                            f"dataset.num_classes={ds.num_classes}; leave it null to take the file's classes")
        return corpus
    return load_corpus(ds.name, ds.num_classes, source, ds.per_class, seed, domain=ds.domain)


def corpus_texts(dataset, seed: int, source: Path) -> list[str] | None:
    """The corpus's texts in the order of ``PreparedData.X`` (None for a table of features: it has no texts)."""
    return getattr(_load(dataset, seed, source), "texts", None)


MIN_PER_CLASS = 4  # distinct records per class in a user's file: one each for members, held-out, attacker, evaluation


def _splits(corpus, ds, evaluation, seed: int) -> Splits:
    return make_splits(corpus, ds.split, ds.member_fraction, ds.attacker_fraction, evaluation.size,
                       evaluation.nonmembers, seed)


def _splits_of_file(corpus, ds, evaluation, seed: int, source: Path) -> Splits:
    """Splits of a user's file; too few records is a fault of the file, named as such."""
    counts = np.bincount(corpus.labels, minlength=len(corpus.class_names))
    if counts.min() < MIN_PER_CLASS:  # before the split settings are blamed for what the file lacks
        name = corpus.class_names[int(counts.argmin())]
        raise DataError(f"{source}: {len(corpus)} distinct labelled records after deduplication, too few: class "
                        f"{name!r} has {int(counts.min())}; expected at least {MIN_PER_CLASS} per class")
    try:
        splits = _splits(corpus, ds, evaluation, seed)
    except ConfigError as exc:
        if not str(exc).startswith("eval.size"):  # a split setting out of range: its own line names it
            raise
        raise DataError(f"{source}: {len(corpus)} distinct labelled records after deduplication, too few for the "
                        f"splits ({exc}); give more records or lower eval.size") from None
    for part in ("members", "heldout", "attacker"):
        present = set(corpus.labels[getattr(splits, part)].tolist())
        for c, name in enumerate(corpus.class_names):
            if c not in present:
                why = (f"dataset.attacker_fraction={ds.attacker_fraction:g} keeps too few of them" if part == "attacker"
                       and ds.attacker_fraction < 1 else f"expected at least {MIN_PER_CLASS} per class")
                raise DataError(f"{source}: class {name!r} has {int((corpus.labels == c).sum())} distinct records "
                                f"after deduplication, none left for the {part} split; {why}")
    return splits


def _prepare(ds, evaluation, seed: int, source: Path) -> PreparedData:
    corpus = _load(ds, seed, source)
    if ds.name in USER_FILES:
        splits = _splits_of_file(corpus, ds, evaluation, seed, source)
    else:
        splits = _splits(corpus, ds, evaluation, seed)
    from scipy import sparse

    info = {"records": len(corpus), "per_class": corpus.counts(), "dedup": corpus.dedup}
    if corpus.features is not None:  # a user's table: features are given
        X, names = np.asarray(corpus.features, dtype=np.float32), list(corpus.feature_names or [])
        X = sparse.csr_matrix(X) if ds.features == "sparse" else X
    else:
        counts = keywords_per_class(ds.name, corpus.class_names, ds.n_keywords, ds.keywords_per_class)
        featurizer = KeywordFeaturizer(corpus.language, counts, ds.keyword_method, ds.min_df, ds.ngram_min, ds.ngram_max)
        members = splits.members
        featurizer.fit([corpus.texts[i] for i in members], corpus.labels[members])  # the owner's half only
        if not featurizer.keywords_:
            raise ConfigError(f"dataset.min_df={ds.min_df}: no keyword candidate occurs in that many of the "
                              f"{len(members)} texts the target trains on; expected a much smaller count (default {DatasetConfig.min_df})")
        X, names = featurizer.transform(corpus.texts), list(featurizer.keywords_)
        X = X.toarray().astype(np.uint8) if ds.features == "dense" else X  # dense: the arrays of socinf < issue 22
        info["keywords"] = {"method": ds.keyword_method, "requested_per_class": counts, "selected": len(names),
                            "per_class": {c: [w for w, o in zip(names, featurizer.keyword_class_) if o == i]
                                          for i, c in enumerate(corpus.class_names)}}
    info["features"] = {"format": "sparse" if sparse.issparse(X) else "dense",
                        "nonzeros": int(X.nnz if sparse.issparse(X) else np.count_nonzero(X))}
    return PreparedData(dataset_label(ds.name, len(corpus.class_names)), X, corpus.labels, corpus.class_names, names, splits, info)


def prepare_data(dataset, evaluation, seed: int, source: Path, cache: StageCache) -> tuple[PreparedData, str, bool]:
    """(prepared data, its cache key, whether it came from ``cache``). ``source``: ``corpus_source(...)``."""
    stamp = None
    if dataset.name in USER_FILES and source.exists():  # a user's file may change under the same path
        stamp = (source.stat().st_size, source.stat().st_mtime_ns)
    key = content_key(data_key(dataset, evaluation, seed), stamp)
    config = {"dataset": plain(dataset), "eval": plain(evaluation), "seed": seed, "source_stamp": stamp}
    prepared, hit = cache.get_or_compute("data", key, lambda: _prepare(dataset, evaluation, seed, source), config)
    return prepared, key, hit
