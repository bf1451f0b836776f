"""Structured configs: the schema every composed config is validated against.

The YAML files under ``conf/`` choose values; these dataclasses fix the keys and
types (a typo such as ``target.max_dept`` fails at composition time), and
``validate`` checks ranges and cross-field rules before any work starts. The settings of library objects
are the library's own dataclasses (``MimicConfig``, ``SynthesisConfig``): each default is written once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from socinf.attacks.mimic import MimicConfig
from socinf.attacks.synthesis import SynthesisConfig


@dataclass
class DatasetConfig:
    name: str = MISSING  # tweet | weibo | clue | csv
    num_classes: Optional[int] = None  # required except for csv (read from the table)
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
    path: Optional[str] = None  # csv only
    label_column: str = "label"  # csv only


@dataclass
class TargetConfig:
    name: str = MISSING  # logistic | xgboost | mlp | remote
    params: Dict[str, Any] = field(default_factory=dict)
    # remote only: the prediction API and what a query may cost
    url: Optional[str] = None
    api_key: Optional[str] = None
    model: str = "mlp"  # what `socinf serve` trains when target.url is unset
    batch_size: int = 256
    timeout_s: float = 30.0
    max_queries: Optional[int] = None
    max_retries: int = 6
    backoff_s: float = 0.2
    server_dir: Optional[str] = None  # with target.url: the serving run dir (its membership split)
    query_cache: bool = True  # SQLite under <data.root>/cache/queries.sqlite: never pay twice for a record
    start_timeout_s: float = 600.0  # target.url unset: how long the spawned server may take to train and listen


@dataclass
class AttackConfig:
    name: str = MISSING  # xgboost | svm | knn | nn
    features: str = "sorted"  # sorted: class-agnostic sorted probability vector | raw
    params: Dict[str, Any] = field(default_factory=dict)


@dataclass
class MethodConfig:
    name: str = "socinf"  # socinf | shadow
    n_models: int = 10  # shadow: number of shadow models
    baselines: bool = True  # also score the threshold attacks on the same target outputs


@dataclass
class DefenseConfig:
    name: str = "none"  # none | round | top_k | label_only | dp | regularize
    digits: Optional[int] = None
    k: Optional[int] = None
    epsilon: Optional[float] = None
    delta: Optional[float] = None
    data_norm: Optional[float] = None
    max_grad_norm: Optional[float] = None
    params: Dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalConfig:
    size: int = 1000  # members, and as many non-members
    nonmembers: str = "heldout"  # heldout | attacker (the paper's reading)


@dataclass
class DataConfig:
    dir: Optional[str] = None  # a local folder holding the corpora (env SOCINF_DATA_DIR)
    root: str = "data"  # downloads and caches, relative to the directory socinf was started in
    url_base: Optional[str] = None  # a mirror replacing the pinned URLs


@dataclass
class CacheConfig:
    enabled: bool = True
    dir: Optional[str] = None  # default: <data.root>/cache/stages


@dataclass
class ServeConfig:
    model: str = "mlp"  # mlp | logistic | xgboost
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: Optional[str] = None
    rate_limit: Optional[float] = None  # requests per second, None = unlimited
    max_batch: int = 4096
    max_body_bytes: int = 64 * 1024 * 1024
    port_file: Optional[str] = None  # written once listening (used by target=remote)
    exit_with_parent: bool = False  # a server spawned by target=remote stops if its client dies


@dataclass
class SocinfConfig:
    dataset: DatasetConfig = MISSING
    target: TargetConfig = MISSING
    synthesis: SynthesisConfig = MISSING
    mimic: MimicConfig = MISSING
    attack: AttackConfig = MISSING
    method: MethodConfig = field(default_factory=MethodConfig)
    defense: DefenseConfig = field(default_factory=DefenseConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    data: DataConfig = field(default_factory=DataConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    seed: int = 0
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])  # sweeps: seed=${seeds}
    threads: int = 1  # torch / BLAS / XGBoost threads of this job
    resume: bool = False  # multirun: skip jobs whose metrics.json is complete
    protocol: str = "honest"  # honest | paper: label carried into every table


def register_configs() -> None:
    from socinf.protocol import register_resolvers

    ConfigStore.instance().store(name="socinf_schema", node=SocinfConfig)
    register_resolvers()
