"""Where the shipped Hydra configs are (``conf/``, installed as ``socinf_cli/conf``), and what its groups offer."""
from __future__ import annotations

from pathlib import Path


def config_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").exists():
            return candidate
    raise FileNotFoundError("socinf's conf/ folder is missing from the installation")


def group_options(group: str) -> list[str] | None:
    """The options of config group ``group`` (``conf/<group>/*.yaml``), or None if it is no group of ours."""
    folder = config_dir() / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() and not group.startswith("hydra") else None


def chosen_options() -> dict[str, str]:
    """Each group's default option: the defaults list of ``conf/config.yaml``."""
    import yaml

    chosen = {}
    for item in yaml.safe_load((config_dir() / "config.yaml").read_text())["defaults"]:
        if isinstance(item, dict):
            chosen.update({key.replace("optional ", ""): value for key, value in item.items()})
    return chosen
