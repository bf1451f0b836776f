"""The method table: each attack's name, its class, the knowledge it needs and how it is built.

Both front doors build attacks here and nowhere else: ``socinf run`` (``socinf_cli.methods`` maps the composed
config onto ``MethodSettings``) and ``socinf.audit`` (its arguments). A method needs either the attacker's
labelled ``population`` (shadow, reference and threshold attacks; SocInf with statistics or population
synthesis) or nothing beyond the target's answers (SocInf with format synthesis, LiRA / RMIA with format
synthetic references). Under ``threat="owner"`` the threshold attacks, Shadow training and LiRA draw on the
owner's own records (the members and non-members under audit among them) and need no population; RMIA still
compares with population records that are not evaluated. ``min_per_class`` is the population records of every
class a method needs at least.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from socinf.attacks.attack_model import AttackModelConfig
from socinf.attacks.base import THREATS
from socinf.attacks.lira import LiRAConfig
from socinf.attacks.mimic_config import MimicConfig
from socinf.attacks.rmia import RMIAConfig
from socinf.attacks.shadow import ShadowConfig
from socinf.attacks.synthesis import SynthesisConfig
from socinf.errors import ConfigError
from socinf.settings import Options, check_value, settings_from


@dataclass
class MethodSettings:
    """Everything a method may be built from: the attacker's guess of the target's training ``algorithm`` (a
    name of ``LOCAL_MODELS`` or an estimator to copy) with ``params``, and each group's settings."""

    algorithm: Any = "xgboost"
    params: dict = field(default_factory=dict)
    attack: AttackModelConfig = field(default_factory=AttackModelConfig)
    synthesis: SynthesisConfig | None = None  # None: statistics with a population, format without one
    mimic: MimicConfig = field(default_factory=MimicConfig)
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    lira: LiRAConfig = field(default_factory=LiRAConfig)
    rmia: RMIAConfig = field(default_factory=RMIAConfig)
    mlp_params: dict | None = None  # reference_model=mlp: the generic MLP's hyper-parameters
    threat: str = "attacker"  # attacker | owner (socinf.attacks.base.THREATS): what the attacks may draw on


def _attack_keywords(s: MethodSettings) -> dict:
    return {"attack_model": s.attack.name, "attack_params": dict(s.attack.params), "features": s.attack.features}


def _synthesis(s: MethodSettings, population: bool) -> SynthesisConfig:
    return s.synthesis or SynthesisConfig(name="statistics" if population else "format")


def _reference_keywords(s: MethodSettings, config, population: bool) -> dict:
    return {**dataclasses.asdict(config), "algorithm": s.algorithm, "params": dict(s.params),
            "synthesis": _synthesis(s, population), "mlp_params": s.mlp_params}


def _build_socinf(s: MethodSettings, population: bool):
    from socinf.attacks.socinf import SocInf

    return SocInf(synthesis=_synthesis(s, population), mimic=s.mimic, **_attack_keywords(s))


def _build_shadow(s: MethodSettings, population: bool):
    from socinf.attacks.shadow import ShadowTraining

    return ShadowTraining(algorithm=s.algorithm, params=dict(s.params), n_models=s.shadow.n_models, **_attack_keywords(s))


def _build_lira(s: MethodSettings, population: bool):
    from socinf.attacks.lira import LiRA

    return LiRA(**_reference_keywords(s, s.lira, population))


def _build_rmia(s: MethodSettings, population: bool):
    from socinf.attacks.rmia import RMIA

    return RMIA(**_reference_keywords(s, s.rmia, population))


def _build_thresholds(s: MethodSettings, population: bool):
    from socinf.attacks.baselines import ThresholdAttacks

    return ThresholdAttacks(algorithm=s.algorithm, params=dict(s.params))


def _socinf_needs(s: MethodSettings, population: bool) -> str:
    return "none" if _synthesis(s, population).name == "format" else "population"


def _reference_needs(config) -> Callable[[MethodSettings, bool], str]:
    def needs(s: MethodSettings, population: bool) -> str:
        if getattr(s, config).reference_data == "synthetic":
            return "none" if _synthesis(s, population).name == "format" else "population"
        return "none" if s.threat == "owner" and config != "rmia" else "population"  # RMIA: its z records

    return needs


def _model_needs(s: MethodSettings, population: bool) -> str:
    """Threshold attacks and Shadow training: models on the attacker's population, or the owner's records."""
    return "none" if s.threat == "owner" else "population"


@dataclass(frozen=True)
class Method:
    name: str
    cls: str  # "module:Class", for readers and error messages (the class is imported when built)
    build: Callable[[MethodSettings, bool], Any]  # (settings, whether a population is held) -> the attack
    needs: Callable[[MethodSettings, bool], str]  # -> "population" | "none"
    min_per_class: int  # population records per class it needs (when it needs a population)


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("thresholds", "socinf.attacks.baselines:ThresholdAttacks", _build_thresholds, _model_needs, 2),
    Method("shadow", "socinf.attacks.shadow:ShadowTraining", _build_shadow, _model_needs, 2),
    Method("socinf", "socinf.attacks.socinf:SocInf", _build_socinf, _socinf_needs, 1),
    Method("lira", "socinf.attacks.lira:LiRA", _build_lira, _reference_needs("lira"), 4),
    Method("rmia", "socinf.attacks.rmia:RMIA", _build_rmia, _reference_needs("rmia"), 4),
)}
METHOD_NAMES = tuple(METHODS)
ATTACK_METHODS = tuple(name for name in METHODS if name != "thresholds")  # `socinf run method=`; thresholds always ride along
DEFAULT_METHODS = ("thresholds", "shadow", "socinf")  # lira / rmia train 16 (owner: 64) references: asked for by name


def check_methods(methods) -> list[str]:
    """``methods`` as a list of known names, each once; one ConfigError line otherwise."""
    if isinstance(methods, str) or not hasattr(methods, "__iter__"):
        raise ConfigError(f"methods={methods!r}: expected a list of names, some of {', '.join(METHOD_NAMES)}")
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods or len(set(methods)) != len(methods):
        raise ConfigError(f"methods={methods}: expected a non-empty list of distinct names, some of "
                          f"{', '.join(METHOD_NAMES)}")
    return methods


def check_settings(settings: MethodSettings) -> MethodSettings:
    """Each group of ``settings`` checked by its own constraints (a mapping becomes its dataclass)."""
    groups = {"attack": (AttackModelConfig, "attack"), "mimic": (MimicConfig, "mimic"),
              "shadow": (ShadowConfig, "method"), "lira": (LiRAConfig, "method"), "rmia": (RMIAConfig, "method")}
    values = {name: settings_from(getattr(settings, name), cls, group) for name, (cls, group) in groups.items()}
    check_value("threat", settings.threat, [Options(THREATS)])
    if settings.synthesis is not None:
        values["synthesis"] = settings_from(settings.synthesis, SynthesisConfig, "synthesis")
    return dataclasses.replace(settings, **values)


def build(name: str, settings: MethodSettings, population: bool = True):
    """The attack object ``name`` stands for, built from ``settings`` (``population``: whether the attacker
    holds labelled records, which picks SocInf's default synthesis)."""
    check_value("method.name", name, [Options(METHOD_NAMES)])
    return METHODS[name].build(settings, population)


def needs_population(name: str, settings: MethodSettings, population: bool = True) -> bool:
    return METHODS[name].needs(settings, population) == "population"
