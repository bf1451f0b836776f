"""``method=``: build the library's attack object from the composed config (the Hydra layer only builds)."""
from __future__ import annotations

from socinf.errors import ConfigError
from socinf.io import plain

METHODS = ("socinf", "shadow", "lira", "rmia")
REFERENCE_KEYS = {"lira": ("n_references", "reference_model", "reference_data", "online", "fixed_variance"),
                  "rmia": ("n_references", "reference_model", "reference_data", "offline_a", "gamma", "n_population")}


def build_method(cfg):
    name, a = cfg.method.name, cfg.attack
    attack = {"attack_model": a.name, "attack_params": plain(a.params), "features": a.features}
    if name == "socinf":
        from socinf.attacks.socinf import SocInf

        return SocInf(synthesis=plain(cfg.synthesis), mimic=plain(cfg.mimic), **attack)
    if name in ("shadow", "lira", "rmia"):
        from socinf_cli.targets import model_params, shadow_algorithm

        algorithm, params = shadow_algorithm(cfg)
    if name == "shadow":
        from socinf.attacks.shadow import ShadowTraining

        return ShadowTraining(algorithm=algorithm, params=params, n_models=cfg.method.n_models, **attack)
    if name in REFERENCE_KEYS:
        from socinf.attacks.lira import LiRA
        from socinf.attacks.rmia import RMIA

        keys = {key: cfg.method[key] for key in REFERENCE_KEYS[name]}
        mlp = model_params(cfg, "mlp") if cfg.method.reference_model == "mlp" else None
        return (LiRA if name == "lira" else RMIA)(algorithm=algorithm, params=params, synthesis=plain(cfg.synthesis),
                                                  mlp_params=mlp, **keys)
    raise ConfigError(f"method={name!r}: expected one of {', '.join(METHODS)}")
