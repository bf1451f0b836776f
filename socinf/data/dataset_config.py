"""What one audit's data is made of (paper IV.A): the corpus, its keyword features, and the member /
non-member splits of the evaluation. Plain dataclasses, apart so the config schema loads without numpy:
``socinf.data.prepare`` takes them (or Hydra's nodes of the same shape), and the Hydra schema
(``socinf_cli.config``) uses them, so every default is written here once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional


@dataclass
class DatasetConfig:
    name: str  # tweet | weibo | clue | csv | text (no default: the user chooses)
    num_classes: Optional[int] = None  # required except for csv and text (read from the file)
    n_keywords: Optional[int] = None  # None: the paper's count for this dataset
    keywords_per_class: Optional[List[int]] = None  # overrides the even split of n_keywords
    keyword_method: str = "chi2"  # chi2 | logodds
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


@dataclass
class EvalConfig:
    size: int = 1000  # members, and as many non-members
    nonmembers: str = "heldout"  # heldout | attacker (the paper's reading)
