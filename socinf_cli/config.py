"""Structured configs: the schema every composed config is validated against.

The YAML files under ``conf/`` choose values; these dataclasses fix the keys and types (a typo such as
``target.max_dept`` fails at composition time). The settings of library objects are the library's own
dataclasses, with their constraints beside their fields (``socinf.settings``): ``DatasetConfig``,
``EvalConfig``, ``SynthesisConfig``, ``MimicConfig``, ``AttackModelConfig``, ``LiRAConfig``, ``RMIAConfig``,
``ShadowConfig``, ``DefenseConfig``, ``ServeConfig``, ``RemoteSettings`` and ``ReferenceJobs``: each default,
each list of choices is written once, there. What only the command has (the target kinds, where data and caches live, the sweep
keys) is declared here in the same way; ``validate`` checks every group, then the rules between groups.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from socinf.attacks.attack_model import AttackModelConfig
from socinf.attacks.base import PAPER_THREAT, THREATS
from socinf.attacks.lira import LiRAConfig
from socinf.attacks.mimic_config import MimicConfig  # torch-free: `socinf run --help` stays fast
from socinf.attacks.reference_jobs import ReferenceJobs
from socinf.attacks.rmia import RMIAConfig
from socinf.attacks.shadow import ShadowConfig
from socinf.attacks.synthesis import SynthesisConfig
from socinf.data.dataset_config import DatasetConfig, EvalConfig
from socinf.errors import ConfigError
from socinf.methods import ATTACK_METHODS
from socinf.owner.defense_config import DefenseConfig
from socinf.owner.models import LOCAL_MODELS
from socinf.evaluation.verdict_config import VerdictConfig
from socinf.protocol import PROTOCOL_NAMES
from socinf.report.report_config import ReportConfig
from socinf.serve.config import ServeConfig
from socinf.settings import BOOLEAN, MAPPING, SEED, TEXT, THREADS, Interval, ListOf, Options
from socinf.targets.remote_settings import RemoteSettings

TARGET_KINDS = (*LOCAL_MODELS, "remote")  # target=: a model trained here, or one behind a prediction API


@dataclass
class TargetConfig(RemoteSettings):
    """``target=``: a local model (``params`` its hyper-parameters) or ``remote`` (``RemoteSettings``)."""

    name: str = MISSING  # logistic | xgboost | mlp | remote
    params: Dict[str, Any] = field(default_factory=dict)
    model: str = "mlp"  # remote: what a spawned `socinf serve` trains, and what shadow models copy
    server_dir: Optional[str] = None  # with target.url: the serving run dir (its membership split)
    start_timeout_s: float = 600.0  # target.url unset: how long the spawned server may take to train and listen

    constraints: ClassVar[dict] = {**RemoteSettings.constraints, "name": [Options(TARGET_KINDS)], "params": [MAPPING],
                                   "model": [Options(LOCAL_MODELS)], "server_dir": [None, TEXT],
                                   "start_timeout_s": [Interval(float, 0, 86_400, "right")]}

    def check_together(self, group: str) -> None:
        super().check_together(group)
        if self.name == "remote" and self.protocol == "v2":
            for key in ("url", "model_name", "server_dir"):
                if not getattr(self, key):
                    raise ConfigError(f"{group}.{key}=null: target.protocol=v2 needs target.url, target.model_name "
                                      "and target.server_dir (the dir `socinf export` wrote: the membership truth)")


@dataclass
class MethodConfig(LiRAConfig, RMIAConfig, ShadowConfig):
    """``method=``; the reference attacks' keys and Shadow training's are the library's ``LiRAConfig``,
    ``RMIAConfig`` and ``ShadowConfig`` (their defaults and constraints)."""

    name: str = "socinf"  # socinf | shadow | lira | rmia (n_references: 16, or 64 under threat=owner)
    baselines: bool = True  # also score the threshold attacks on the same target outputs

    constraints: ClassVar[dict] = {**LiRAConfig.constraints, **RMIAConfig.constraints, **ShadowConfig.constraints,
                                   "name": [Options(ATTACK_METHODS)], "baselines": [BOOLEAN]}


@dataclass
class DataConfig:
    dir: Optional[str] = None  # a read-only local copy of the corpora (env SOCINF_DATA_DIR)
    root: Optional[str] = None  # the data home: downloads and caches (env SOCINF_DATA; None = per-user default)
    url_base: Optional[str] = None  # a mirror replacing the pinned URLs
    download_if_missing: bool = True  # fetch missing corpora into the data home on first use

    constraints: ClassVar[dict] = {"dir": [None, TEXT], "root": [None, TEXT], "url_base": [None, TEXT],
                                   "download_if_missing": [BOOLEAN]}


@dataclass
class CacheConfig:
    enabled: bool = True
    dir: Optional[str] = None  # default: <data.root>/cache/stages

    constraints: ClassVar[dict] = {"enabled": [BOOLEAN], "dir": [None, TEXT]}


@dataclass
class SocinfConfig:
    dataset: DatasetConfig = MISSING
    target: TargetConfig = MISSING
    synthesis: SynthesisConfig = MISSING
    mimic: MimicConfig = MISSING
    attack: AttackModelConfig = MISSING
    method: MethodConfig = field(default_factory=MethodConfig)
    defense: DefenseConfig = field(default_factory=DefenseConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    data: DataConfig = field(default_factory=DataConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    verdict: VerdictConfig = field(default_factory=VerdictConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    reference_jobs: ReferenceJobs = field(default_factory=ReferenceJobs)  # where reference models train
    seed: int = 0
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])  # sweeps: seed=${seeds}
    threads: int = 1  # torch / BLAS / XGBoost threads of this job
    resume: bool = False  # multirun: skip jobs whose metrics.json is complete
    protocol: str = "honest"  # honest | paper: label carried into every table
    threat: str = PAPER_THREAT  # attacker: the paper's outsider (population only) | owner: all the owner's records

    constraints: ClassVar[dict] = {"seed": [SEED], "seeds": [ListOf(SEED)], "threads": [THREADS],
                                   "resume": [BOOLEAN], "protocol": [Options(PROTOCOL_NAMES)],
                                   "threat": [Options(THREATS)]}
    groups: ClassVar[dict] = {"dataset": DatasetConfig, "eval": EvalConfig, "target": TargetConfig,
                              "synthesis": SynthesisConfig, "mimic": MimicConfig, "attack": AttackModelConfig,
                              "method": MethodConfig, "defense": DefenseConfig, "serve": ServeConfig,
                              "data": DataConfig, "cache": CacheConfig, "verdict": VerdictConfig,
                              "report": ReportConfig, "reference_jobs": ReferenceJobs}


def register_configs() -> None:
    from hydra.core.plugins import Plugins

    from socinf.protocol import register_resolvers
    from socinf_cli.help import register_help_resolver

    ConfigStore.instance().store(name="socinf_schema", node=SocinfConfig)
    register_resolvers()
    register_help_resolver()
    # Registered by hand as well: Hydra finds plugins by listing the hydra_plugins namespace folders, and an
    # editable install (make install) puts no folder of ours there. Hydra's own scan runs first (it loads
    # its core plugins afresh), so the sweeper subclasses the BasicSweeper Hydra will use.
    plugins = Plugins.instance()
    from hydra_plugins.socinf_sweeper.sweeper import SocinfSweeper

    plugins.register(SocinfSweeper)
