"""``method=``: the composed config as the library's ``MethodSettings``; the attack is built from the library's
method table (``socinf.methods``), as ``socinf.audit`` builds it."""
from __future__ import annotations

from socinf.attacks.attack_model import AttackModelConfig
from socinf.attacks.lira import LiRAConfig
from socinf.attacks.mimic_config import MimicConfig
from socinf.attacks.rmia import RMIAConfig
from socinf.attacks.shadow import ShadowConfig
from socinf.attacks.synthesis import SynthesisConfig
from socinf.methods import MethodSettings, build
from socinf.settings import fields_of
from socinf_cli.targets import model_params, shadow_algorithm


def method_settings(cfg) -> MethodSettings:
    """What the run's method may be built from: the attacker's guess of the target's algorithm and every group."""
    algorithm, params = shadow_algorithm(cfg)
    mlp = model_params(cfg, "mlp") if cfg.method.reference_model == "mlp" else None
    return MethodSettings(algorithm=algorithm, params=params, attack=fields_of(cfg.attack, AttackModelConfig, "attack"),
                          synthesis=fields_of(cfg.synthesis, SynthesisConfig, "synthesis"),
                          mimic=fields_of(cfg.mimic, MimicConfig, "mimic"),
                          shadow=fields_of(cfg.method, ShadowConfig, "method"),
                          lira=fields_of(cfg.method, LiRAConfig, "method"), rmia=fields_of(cfg.method, RMIAConfig, "method"),
                          mlp_params=mlp, threat=cfg.threat)


def build_methods(cfg) -> tuple[object, object | None]:
    """(the configured attack, the threshold attacks or None), each built once per run."""
    settings = method_settings(cfg)
    thresholds = build("thresholds", settings) if cfg.method.baselines else None
    return build(cfg.method.name, settings), thresholds
