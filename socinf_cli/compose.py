"""Composing the shipped Hydra configs outside a Hydra job (``--dry-run``, ``export``, ``data``, tests)."""
from __future__ import annotations

from socinf_cli.conf_tree import config_dir


def compose(overrides: list[str]):
    """The composed config without running a Hydra job (``--dry-run``, ``export``, ``data``, tests); a bad
    override is one ConfigError line (``socinf_cli.overrides``)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from socinf.errors import ConfigError
    from socinf_cli.config import register_configs
    from socinf_cli.overrides import check_overrides, config_error, one_line

    register_configs()
    check_overrides(overrides)
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
            return hydra_compose(config_name="config", overrides=overrides)
    except Exception as exc:
        if config_error(exc):
            raise ConfigError(one_line(exc)) from None
        raise
