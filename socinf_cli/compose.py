"""Where the shipped Hydra configs are, and composing them outside a Hydra job (``socinf data``, tests)."""
from __future__ import annotations

from pathlib import Path


def config_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").exists():
            return candidate
    raise FileNotFoundError("socinf's conf/ folder is missing from the installation")


def compose(overrides: list[str]):
    """The composed config without running a Hydra job (for `data` commands)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from socinf_cli.config import register_configs

    register_configs()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        return hydra_compose(config_name="config", overrides=overrides)
