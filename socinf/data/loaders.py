"""Parse the raw corpus files into a deduplicated ``Corpus``.

The parsers read a folder as-is: checksum verification lives in
``fetch.resolve_corpus_dir`` so tests and tools can load hand-made folders.
No parse cache: parsing all six Weibo files (the .xls included) takes ~0.3 s,
below the 1 s at which a pickle cache would pay for its invalidation logic.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from socinf.data.corpus import Corpus
from socinf.data.dataset_config import LANGUAGES, SUPPORTED_CLASSES, WEIBO_DOMAINS, check_num_classes
from socinf.data.registry import EMOTIONS, corpus_files
from socinf.data.labels import class_order
from socinf.errors import DataError, SocinfError

SPLITS = ("train", "dev", "test")  # rank order: a duplicate keeps its earliest split
CLUE_CLASSES = ["anger", "disgust", "fear", "happiness", "like", "sadness", "surprise"]

# (corpus, num_classes) -> (class names, raw label -> class name or None = not in this scheme)
_SCHEMES: dict[tuple[str, int], tuple[list[str], dict[str, str | None]]] = {
    ("tweet", 4): (list(EMOTIONS), {e: e for e in EMOTIONS}),
    ("tweet", 2): (["negative", "positive"],
                   {"anger": "negative", "fear": "negative", "sadness": "negative", "joy": "positive"}),
    ("weibo", 3): (["negative", "neutral", "positive"],
                   {"angry": "negative", "sad": "negative", "fear": "negative", "happy": "positive",
                    "neutral": "neutral", "surprise": None}),
    ("weibo", 5): (["angry", "fear", "happy", "sad", "surprise"],
                   {"angry": "angry", "fear": "fear", "happy": "happy", "sad": "sad",
                    "surprise": "surprise", "neutral": None}),
    ("clue", 7): (CLUE_CLASSES, {c: c for c in CLUE_CLASSES}),
}

Record = tuple[str, str, int]  # (text, raw label, split rank)


# ---------------------------------------------------------------- parsers

def _split_of(name: str) -> int:
    for rank, marker in enumerate((("train",), ("dev", "eval"), ("test",))):
        if any(m in name for m in marker):
            return rank
    raise DataError(f"cannot tell the split (train/dev/test) of file {name}")


def _read_emoint_file(path: Path) -> list[Record]:
    rank, out = _split_of(path.name), []
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, 1):
        fields = line.split("\t")
        if len(fields) != 4:
            raise DataError(f"{path}:{lineno}: expected 4 tab-separated fields (id, tweet, emotion, intensity), "
                            f"got {len(fields)}")
        _, text, emotion, intensity = fields
        try:
            float(intensity)
        except ValueError:
            if lineno == 1:
                continue  # a header line (e.g. "ID Tweet Affect Dimension Intensity Score") — none ship today
            raise DataError(f"{path}:{lineno}: intensity {intensity!r} is not a number") from None
        if emotion not in EMOTIONS:
            raise DataError(f"{path}:{lineno}: emotion {emotion!r} is not one of {', '.join(EMOTIONS)}")
        out.append((text, emotion, rank))
    return out


def _read_weibo_xls(path: Path) -> list[Record]:
    import xlrd  # lazy: only Weibo needs it

    try:
        sheet = xlrd.open_workbook(str(path)).sheet_by_index(0)
    except Exception as exc:  # xlrd raises its own XLRDError and assorted struct errors
        raise DataError(f"{path}: not a readable Excel 97-2003 workbook ({exc})") from None
    header = [str(v).strip() for v in sheet.row_values(0)]
    try:
        ti, li = header.index("文本"), header.index("情绪标签")
    except ValueError:
        raise DataError(f"{path}: header {header} lacks the columns 文本 (text) / 情绪标签 (label)") from None
    rank = _split_of(path.name)
    return [(_cell_text(sheet.cell_value(r, ti)), _weibo_label(sheet.cell_value(r, li)), rank)
            for r in range(1, sheet.nrows)]


def _weibo_label(value) -> str:
    label = str(value).strip()
    return "neutral" if label == "neural" else label  # the official release's spelling of "neutral"


def _cell_text(value) -> str:
    # Excel stores all-digit posts as numbers; render 666.0 back as "666".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_json_records(path: Path, rank: int, json_lines: bool) -> list[Record]:
    text = path.read_text(encoding="utf-8")
    try:
        rows = [json.loads(s) for s in text.splitlines() if s.strip()] if json_lines else json.loads(text)
        return [(str(r["content"]), str(r["label"]), rank) for r in rows]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: expected JSON records with 'content' and 'label' ({exc})") from None


def _read_raw(name: str, corpus_dir: Path, domain: str) -> list[Record]:
    records: list[Record] = []
    for pinned in corpus_files(name).files:
        path = corpus_dir / pinned.name
        if name == "weibo" and domain != "all" and not pinned.name.startswith(domain):
            continue
        if not path.is_file():
            raise DataError(f"{name}: missing file {path}")
        if name == "tweet":
            records += _read_emoint_file(path)
        elif path.suffix == ".xlsx":
            records += _read_weibo_xls(path)
        else:
            rank = _split_of(pinned.name) if name == "weibo" else 0  # CLUE valid/test: no train split here
            records += _read_json_records(path, rank, json_lines=(name == "clue"))
    return records


# ---------------------------------------------------------------- dedup and sampling

def _dedup(records: list[Record], mapping: dict[str, str | None], source: str):
    """Collapse duplicate texts, drop conflicting ones; returns ``{text: (label, rank)}`` and counts."""
    counts = {"raw": len(records), "duplicates_removed": 0, "conflicting_dropped": 0,
              "empty_dropped": 0, "label_dropped": 0}
    groups: dict[str, list] = {}  # text -> [set of labels, earliest rank, n records]
    for text, raw_label, rank in records:
        if raw_label not in mapping:
            raise DataError(f"{source}: unexpected label {raw_label!r} (known: {', '.join(sorted(mapping))})")
        label = mapping[raw_label]
        if label is None:  # a class outside this granularity (e.g. surprise in weibo(3))
            counts["label_dropped"] += 1
            continue
        text = text.strip()
        if not text:
            counts["empty_dropped"] += 1
            continue
        g = groups.setdefault(text, [set(), rank, 0])
        g[0].add(label)
        g[1] = min(g[1], rank)
        g[2] += 1
    kept = {}
    for text, (labels, rank, n) in groups.items():
        if len(labels) > 1:
            counts["conflicting_dropped"] += n
        else:
            counts["duplicates_removed"] += n - 1
            kept[text] = (next(iter(labels)), rank)
    return kept, counts


def cap_per_class(corpus: Corpus, per_class: int | None, seed: int) -> Corpus:
    """Keep at most ``per_class`` records per class, drawn with ``default_rng(seed)``; order preserved."""
    if per_class is None:
        return corpus
    if per_class <= 0:
        raise SocinfError(f"dataset.per_class={per_class}: must be a positive integer or null")
    rng = np.random.default_rng(seed)
    keep = []
    for c in range(len(corpus.class_names)):
        idx = np.flatnonzero(corpus.labels == c)
        keep.append(rng.choice(idx, per_class, replace=False) if len(idx) > per_class else idx)
    sel = np.sort(np.concatenate(keep)) if keep else np.array([], dtype=int)
    return dataclasses.replace(
        corpus,
        texts=[corpus.texts[i] for i in sel],
        labels=corpus.labels[sel],
        official=None if corpus.official is None else corpus.official[sel],
        features=None if corpus.features is None else corpus.features[sel],
    )


# ---------------------------------------------------------------- public entry points

def load_corpus(name: str, num_classes: int, corpus_dir: Path, per_class: int | None, seed: int,
                domain: str = "all") -> Corpus:
    """Load ``tweet`` / ``weibo`` / ``clue`` from ``corpus_dir`` (not checksum-verified here)."""
    if name not in SUPPORTED_CLASSES:
        raise SocinfError(f"dataset.name={name!r}: expected one of {', '.join(SUPPORTED_CLASSES)}")
    check_num_classes(name, num_classes)
    if domain not in WEIBO_DOMAINS or (domain != "all" and name != "weibo"):
        raise SocinfError(f"dataset.domain={domain}: only weibo has domains (all, usual, virus)")
    class_names, mapping = _SCHEMES[(name, num_classes)]
    kept, counts = _dedup(_read_raw(name, Path(corpus_dir), domain), mapping, f"{name} in {corpus_dir}")
    texts = sorted(kept)  # a content key, so the order does not depend on file order
    index = {c: i for i, c in enumerate(class_names)}
    corpus = Corpus(
        name=name,
        texts=texts,
        labels=np.array([index[kept[t][0]] for t in texts], dtype=np.int64),
        class_names=list(class_names),
        language="en" if name == "tweet" else "zh",
        # Only EmoInt's split is the one papers report on; Weibo's ranks serve dedup only.
        official=np.array([SPLITS[kept[t][1]] for t in texts]) if name == "tweet" else None,
        dedup=counts,
    )
    return cap_per_class(corpus, per_class, seed)


def load_csv_corpus(path: str | Path, label_column: str, id_column: str | None = None) -> Corpus:
    """A tabular corpus: every column but the label (and optional id) is a numeric feature."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"dataset.path={path}: no such CSV file")
    try:
        df = pd.read_csv(path, dtype={label_column: str})  # labels as written: "01" is not silently 1
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    if len(df) == 0:
        raise DataError(f"{path}: no records (a header only); expected one row per record")
    for col, role in ((label_column, "label"), (id_column, "id")):
        if col is not None and col not in df.columns:
            raise DataError(f"{path}: no {role} column {col!r} (columns: {', '.join(map(str, df.columns))})")
    if df[label_column].isna().any():
        raise DataError(f"{path}: label column {label_column!r} has empty values")
    feats = df.drop(columns=[c for c in (label_column, id_column) if c is not None])
    for col in feats.columns:
        if not (pd.api.types.is_numeric_dtype(feats[col]) or pd.api.types.is_bool_dtype(feats[col])):
            raise DataError(f"{path}: feature column {col!r} is not numeric (dtype {feats[col].dtype})")
        if feats[col].isna().any():
            raise DataError(f"{path}: feature column {col!r} has empty values")
    matrix = feats.to_numpy(dtype=np.float64)
    if not np.isfinite(matrix).all():
        row, col = np.argwhere(~np.isfinite(matrix))[0]
        raise DataError(f"{path}: feature column {feats.columns[col]!r} holds {matrix[row, col]} in row {row + 2}; "
                        "expected finite numbers")
    beyond = np.abs(matrix) > np.finfo(np.float32).max  # features are float32, as the model is trained on them
    if beyond.any():
        row, col = np.argwhere(beyond)[0]
        raise DataError(f"{path}: feature column {feats.columns[col]!r} holds {matrix[row, col]:g} in row {row + 2}; "
                        f"expected numbers within float32's range (|x| <= {np.finfo(np.float32).max:.3g})")
    raw = df[label_column].astype(str).str.strip().to_numpy()
    values = class_order(raw, f"{path}: label column {label_column!r}")
    index = {c: i for i, c in enumerate(values)}
    labels = np.array([index[v] for v in raw], dtype=np.int64)
    if len(values) < 2:
        raise DataError(f"{path}: label column {label_column!r} has one class ({values[0]!r}); membership "
                        "inference needs a classifier of at least 2 classes")
    ids = df[id_column].astype(str).tolist() if id_column else [str(i) for i in range(len(df))]
    return Corpus(
        name="csv", texts=ids, labels=labels, class_names=values,
        language="tabular", features=feats.to_numpy(dtype=np.float32), feature_names=[str(c) for c in feats.columns],
        dedup={"raw": len(df), "duplicates_removed": 0, "conflicting_dropped": 0, "empty_dropped": 0},
    )


def load_text_corpus(path: str | Path, text_column: str = "text", label_column: str = "label",
                     language: str = "en", per_class: int | None = None, seed: int = 0) -> Corpus:
    """A user's labelled texts (CSV, TSV or JSON Lines), deduplicated as the paper's corpora are.

    Duplicate texts collapse to one record, texts seen with two labels are dropped (``_dedup``), texts are
    sorted, classes are the sorted distinct labels, and ``per_class`` caps each class as for the corpora.
    """
    from socinf.data.text_files import read_labelled_texts

    if language not in LANGUAGES:
        raise SocinfError(f"dataset.language={language!r}: expected one of {', '.join(LANGUAGES)}")
    rows = read_labelled_texts(path, text_column, label_column)
    labels = {label for _, _, label in rows}
    kept, counts = _dedup([(text, label, 0) for _, text, label in rows], {c: c for c in labels}, str(path))
    class_names = class_order({label for label, _ in kept.values()}, f"{path}: label column {label_column!r}")
    if len(class_names) < 2:
        raise DataError(f"{path}: label column {label_column!r} has {len(class_names)} class(es) "
                        f"({', '.join(class_names) or 'none'}) after deduplication; membership inference against a "
                        "classifier needs at least two classes")
    texts = sorted(kept)
    index = {c: i for i, c in enumerate(class_names)}
    corpus = Corpus(name="text", texts=texts, labels=np.array([index[kept[t][0]] for t in texts], dtype=np.int64),
                    class_names=class_names, language=language, dedup=counts)
    return cap_per_class(corpus, per_class, seed)
