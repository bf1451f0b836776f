"""A composed config checked before any work starts: every group by the library's own constraints, then the
rules that span groups.

Each group's keys, types, ranges and choices are declared beside its settings dataclass (``socinf.settings``;
the schema is ``config.SocinfConfig``), so ``socinf run`` and ``socinf.audit`` print the same line for the same
bad value. What stays here is what no single group can know: a defense against the target's algorithm, the
evaluation protocol against online LiRA, the attack built from all groups at once (once per run: ``validate``
returns it), and every estimator's hyper-parameters (``check_params``).
"""
from __future__ import annotations

from socinf.errors import ConfigError
from socinf.owner.defenses import check_defense
from socinf.settings import check_value, settings_from
from socinf_cli.check_params import check_estimator_params
from socinf_cli.config import SocinfConfig
from socinf_cli.methods import build_methods


def check_groups(cfg) -> None:
    """The top-level keys and each group, by the constraints declared beside their dataclasses."""
    for name, allowed in SocinfConfig.constraints.items():
        check_value(name, cfg[name], allowed)
    for group, cls in SocinfConfig.groups.items():
        settings_from(cfg[group], cls, group)


def target_algorithm(cfg) -> str:
    """The algorithm the owner trains: the local target's, or for ``target=remote`` the served model's."""
    return cfg.target.model if cfg.target.name == "remote" else cfg.target.name


def validate(cfg):
    """Every check a run makes before work; returns (the configured attack, the threshold attacks or None)."""
    check_groups(cfg)
    check_defense(cfg.defense, target_algorithm(cfg))
    online_attack = cfg.method.name in ("lira", "rmia") and cfg.method.online and cfg.threat == "attacker"
    if online_attack and cfg.eval.nonmembers == "attacker":
        raise ConfigError(f"method.online=true: online {cfg.method.name.upper()} trains references on half the "
                          "candidates, which eval.nonmembers=attacker takes from the attacker's own data; use "
                          "eval.nonmembers=heldout (or threat=owner)")
    method, thresholds = build_methods(cfg)
    for attack in (method, thresholds):
        if attack is not None:
            attack.settings()  # the rules between an attack's groups (e.g. synthetic references need synthesis)
    check_estimator_params(cfg)  # hyper-parameters: estimators built and validated before any work
    return method, thresholds
