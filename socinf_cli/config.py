"""Structured configs: the schema every composed config is validated against.

The YAML files under ``conf/`` choose values; these dataclasses fix the keys and
types (a typo such as ``target.max_dept`` fails at composition time), and
``validate`` checks ranges and cross-field rules before any work starts. The settings of library objects
are the library's own dataclasses (``DatasetConfig``, ``EvalConfig``, ``MimicConfig``, ``SynthesisConfig``,
``LiRAConfig``, ``RMIAConfig``): each default is written once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from socinf.attacks.lira import LiRAConfig
from socinf.attacks.mimic_config import MimicConfig  # torch-free: `socinf run --help` stays fast
from socinf.attacks.rmia import RMIAConfig
from socinf.attacks.synthesis import SynthesisConfig
from socinf.data.dataset_config import DatasetConfig, EvalConfig


@dataclass
class TargetConfig:
    name: str = MISSING  # logistic | xgboost | mlp | remote
    params: Dict[str, Any] = field(default_factory=dict)
    # remote only: the prediction API and what a query may cost
    url: Optional[str] = None
    protocol: str = "socinf"  # socinf (`socinf serve`) | v2 (Open Inference Protocol: MLServer, KServe, Triton)
    model_name: Optional[str] = None  # v2: the model's name on the server (/v2/models/{model_name})
    api_key: Optional[str] = None
    model: str = "mlp"  # what `socinf serve` trains when target.url is unset
    batch_size: int = 256
    timeout_s: float = 30.0  # per read (connect, each chunk)
    deadline_s: Optional[float] = 120.0  # per request attempt, in all: a server dribbling bytes cannot stall a run
    max_queries: Optional[int] = None  # records sent, in total across runs/resumes/attempts of budget_scope
    # target: one budget per normalised endpoint + model id, shared by every run using this data.root;
    # run: one per run dir (a resume of that run dir shares it)
    budget_scope: str = "target"
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
class MethodConfig(LiRAConfig, RMIAConfig):
    """``method=``; the reference attacks' keys (n_references, reference_model, reference_data, online,
    fixed_variance, offline_a, gamma, n_population) and their defaults are the library's LiRAConfig / RMIAConfig."""

    name: str = "socinf"  # socinf | shadow | lira | rmia
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
class DataConfig:
    dir: Optional[str] = None  # a read-only local copy of the corpora (env SOCINF_DATA_DIR)
    root: Optional[str] = None  # the data home: downloads and caches (env SOCINF_DATA; None = per-user default)
    url_base: Optional[str] = None  # a mirror replacing the pinned URLs
    download_if_missing: bool = True  # fetch missing corpora into the data home on first use


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
    max_body_bytes: int = 64 * 1024 * 1024  # checked from Content-Length and while reading: 413 beyond
    max_connections: int = 64  # uvicorn limit_concurrency: 503 beyond
    header_timeout_s: float = 10.0  # a connection must send a complete request head within this, or is closed
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
    from hydra.core.plugins import Plugins

    from socinf.protocol import register_resolvers

    ConfigStore.instance().store(name="socinf_schema", node=SocinfConfig)
    register_resolvers()
    # Registered by hand as well: Hydra finds plugins by listing the hydra_plugins namespace folders, and an
    # editable install (make install) puts no folder of ours there. Hydra's own scan runs first (it loads
    # its core plugins afresh), so the sweeper subclasses the BasicSweeper Hydra will use.
    plugins = Plugins.instance()
    from hydra_plugins.socinf_sweeper.sweeper import SocinfSweeper

    plugins.register(SocinfSweeper)
