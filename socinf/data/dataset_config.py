"""What one audit's data is made of (paper IV.A): the corpus, its keyword features, and the member /
non-member splits of the evaluation. Plain dataclasses with their constraints (``socinf.settings``), apart so
the config schema loads without numpy: ``socinf.data.prepare`` takes them (or Hydra's nodes of the same
shape), and the Hydra schema (``socinf_cli.config``) uses them, so every default and every list of choices is
written here once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, List, Optional

from socinf.errors import ConfigError
from socinf.settings import BOOLEAN, MAPPING, TEXT, Interval, ListOf, Options  # noqa: F401 - MAPPING for subclasses

SUPPORTED_CLASSES = {"tweet": (2, 4), "weibo": (3, 5), "clue": (7,)}  # the pinned corpora and their class views
USER_FILES = ("csv", "text")  # datasets read from the user's own file (dataset.path), not a pinned corpus
CORPORA = (*SUPPORTED_CLASSES, *USER_FILES)  # dataset.name
WEIBO_DOMAINS = ("all", "usual", "virus")
LANGUAGES = ("en", "zh")  # dataset=text: en word tokens or zh character n-grams (features.KeywordFeaturizer)
KEYWORD_METHODS = ("chi2", "logodds")
FEATURE_FORMATS = ("auto", "sparse", "dense")  # auto: keyword features sparse (CSR), a table of features dense
SPLIT_RULES = ("random", "official")  # official: EmoInt's own train split trains the target
NONMEMBER_POOLS = ("heldout", "attacker")  # evaluation non-members: held out | the attacker's own (the paper)
AUTO_SIZE = "auto"  # eval.size=auto: the largest balanced set the splits allow ...
AUTO_SIZE_MAX = 1000  # ... up to this many members (and as many non-members)


def check_num_classes(name: str, num_classes) -> None:
    """A pinned corpus offers fixed class views (Tweet 2 or 4, Weibo 3 or 5, CLUE 7)."""
    offered = SUPPORTED_CLASSES[name]
    if num_classes not in offered:
        raise ConfigError(f"dataset.num_classes={num_classes}: {name} offers {' or '.join(str(k) for k in offered)}")


@dataclass
class DatasetConfig:
    name: str  # tweet | weibo | clue | csv | text (no default: the user chooses)
    num_classes: Optional[int] = None  # required except for csv and text (read from the file)
    n_keywords: Optional[int] = None  # None: the paper's count for this dataset
    keywords_per_class: Optional[List[int]] = None  # overrides the even split of n_keywords
    keyword_method: str = "chi2"  # chi2 | logodds, one class against the rest, on the owner's half only
    per_class: Optional[int] = None  # cap per class (paper: 2,000 for Weibo)
    split: str = "random"  # random | official (EmoInt's train split trains the target)
    domain: str = "all"  # weibo: all | usual | virus
    ngram_min: int = 2  # Chinese: character n-gram range of keyword candidates
    ngram_max: int = 3
    min_df: int = 3  # a keyword candidate must occur in this many training texts
    member_fraction: float = 0.5  # share of the corpus the target owner trains on
    attacker_fraction: float = 1.0  # share of the non-member half outside the held-out set that the attacker holds
    path: Optional[str] = None  # csv and text: the user's file
    label_column: str = "label"  # csv and text
    text_column: str = "text"  # text only
    language: Optional[str] = None  # text only: en | zh (the corpora fix their own)
    # How the records are held: sparse (scipy CSR: memory grows with the keywords present) or dense (n x d
    # arrays, as before issue 22); auto: keyword features sparse, a table of features (csv) dense. XGBoost reads
    # an absent entry of a sparse matrix as missing and a 0 of a dense array as a value: a different model
    # (docs/sparse.md).
    features: str = "auto"

    constraints: ClassVar[dict] = {
        "name": [Options(CORPORA)],
        "num_classes": [None, Interval(int, 2, 1000)],
        "n_keywords": [None, Interval(int, 1, 1_000_000)],
        "keywords_per_class": [None, ListOf(Interval(int, 1, 1_000_000))],
        "keyword_method": [Options(KEYWORD_METHODS)],
        "per_class": [None, Interval(int, 1, 10**8)],
        "split": [Options(SPLIT_RULES)],
        "domain": [Options(WEIBO_DOMAINS)],
        "ngram_min": [Interval(int, 1, 20)],
        "ngram_max": [Interval(int, 1, 20)],
        "min_df": [Interval(int, 1, 1_000_000)],
        "member_fraction": [Interval(float, 0, 1, "neither")],
        "attacker_fraction": [Interval(float, 0, 1, "right")],
        "path": [None, TEXT],
        "label_column": [TEXT],
        "text_column": [TEXT],
        "language": [None, Options(LANGUAGES)],
        "features": [Options(FEATURE_FORMATS)],
    }

    def check_together(self, group: str) -> None:
        if self.ngram_max < self.ngram_min:
            raise ConfigError(f"{group}.ngram_max={self.ngram_max}: must be >= {group}.ngram_min={self.ngram_min}")
        if self.name in USER_FILES:
            if not self.path:
                example = "table.csv" if self.name == "csv" else "texts.csv (or .tsv, .jsonl)"
                raise ConfigError(f"{group}.path=null: dataset={self.name} needs {group}.path=/path/to/{example}")
            if self.name == "text" and self.language is None:
                raise ConfigError(f"{group}.language=null: dataset=text needs {group}.language "
                                  f"(one of {', '.join(LANGUAGES)})")
        else:
            check_num_classes(self.name, self.num_classes)
        if self.split == "official" and self.name != "tweet":
            raise ConfigError(f"{group}.split=official: only tweet (EmoInt) has an official split, not {self.name}")
        if self.domain != "all" and self.name != "weibo":
            raise ConfigError(f"{group}.domain={self.domain}: only weibo has domains ({', '.join(WEIBO_DOMAINS)})")


@dataclass
class EvalConfig:
    # Members, and as many non-members: auto (as many as the splits allow, at most AUTO_SIZE_MAX) or a number,
    # which is strict (a run that cannot draw that many stops). Typed Any, since OmegaConf has no Union: a value
    # keeps the type its YAML spelling gives it (500 an int, 1.5 a float, auto a string), so the constraint
    # below checks the type as well as the range, and `eval.size=500` stays the integer 500.
    size: Any = AUTO_SIZE
    nonmembers: str = "heldout"  # heldout | attacker (the paper's reading)
    shuffle_membership: bool = False  # a negative control: membership labels dealt at random (no leak can be real)

    constraints: ClassVar[dict] = {
        "size": [Options((AUTO_SIZE,)), Interval(int, 1, 10**8)],
        "nonmembers": [Options(NONMEMBER_POOLS)],
        "shuffle_membership": [BOOLEAN],
    }
