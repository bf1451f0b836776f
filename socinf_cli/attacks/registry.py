"""``method=`` choices: which membership attack a run audits with."""
from __future__ import annotations

from socinf_cli.errors import ConfigError

METHODS = ("socinf", "shadow")


def build_method(cfg):
    name = cfg.method.name
    if name == "socinf":
        from socinf_cli.attacks.socinf import SocInf

        return SocInf(cfg.synthesis, cfg.mimic, cfg.attack)
    if name == "shadow":
        from socinf_cli.attacks.shadow import ShadowTraining

        return ShadowTraining(cfg)
    raise ConfigError(f"method={name!r}: expected one of {', '.join(METHODS)}")
