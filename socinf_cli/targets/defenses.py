"""Defenses (paper Section V). Placeholder: only ``defense=none`` until the defense module lands."""
from __future__ import annotations

from socinf_cli.errors import ConfigError
from socinf_cli.targets.local import fit_local_model


def _check(defense) -> None:
    if defense.name != "none":
        raise ConfigError(f"defense={defense.name!r}: not available yet; expected none")


def fit_with_defense(name, params, defense, X, y, seed, threads):
    _check(defense)
    return fit_local_model(name, params, X, y, seed, threads)


def defended(model, defense):
    _check(defense)
    return model


def describe(model, defense) -> dict:
    return {"name": defense.name}
