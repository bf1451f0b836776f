"""``method=``: build the library's attack object from the composed config (the Hydra layer only builds)."""
from __future__ import annotations

from socinf.errors import ConfigError
from socinf.io import plain

METHODS = ("socinf", "shadow")


def build_method(cfg):
    name, a = cfg.method.name, cfg.attack
    attack = {"attack_model": a.name, "attack_params": plain(a.params), "features": a.features}
    if name == "socinf":
        from socinf.attacks.socinf import SocInf

        return SocInf(synthesis=plain(cfg.synthesis), mimic=plain(cfg.mimic), **attack)
    if name == "shadow":
        from socinf.attacks.shadow import ShadowTraining
        from socinf_cli.targets import shadow_algorithm

        algorithm, params = shadow_algorithm(cfg)
        return ShadowTraining(algorithm=algorithm, params=params, n_models=cfg.method.n_models, **attack)
    raise ConfigError(f"method={name!r}: expected one of {', '.join(METHODS)}")
