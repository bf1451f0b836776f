"""``method=`` choices: which membership attack a run audits with."""
from __future__ import annotations

from socinf_cli.errors import ConfigError

METHODS = ("socinf",)


def build_method(cfg):
    name = cfg.method.name
    if name == "socinf":
        from socinf_cli.attacks.socinf import SocInf

        return SocInf(cfg.synthesis, cfg.mimic, cfg.attack)
    raise ConfigError(f"method={name!r}: expected one of {', '.join(METHODS)}")
