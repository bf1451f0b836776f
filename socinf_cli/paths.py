"""Where a command's files live: the directory socinf was started in, the data home, the stage cache, the data."""
from __future__ import annotations

from pathlib import Path


def original_cwd() -> Path:
    """The directory socinf was started in (Hydra may change the working directory)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            return Path(HydraConfig.get().runtime.cwd)
    except Exception:  # noqa: BLE001 - outside a Hydra app
        pass
    return Path.cwd()


def run_dir() -> Path:
    """This job's output directory (Hydra's run or sweep-job dir; the working directory outside Hydra)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            return Path(HydraConfig.get().runtime.output_dir).resolve()
    except Exception:  # noqa: BLE001 - outside a Hydra app
        pass
    return Path.cwd().resolve()


def data_root(cfg) -> Path:
    """The data home: ``data.root`` (env ``SOCINF_DATA``) or the per-user default; never the working directory."""
    from socinf.data.fetch import data_home

    if not cfg.data.root:
        return data_home()
    root = Path(cfg.data.root).expanduser()
    return root if root.is_absolute() else original_cwd() / root


def stage_cache(cfg):
    """The run's stage cache: ``cache.dir``, default ``<data.root>/cache/stages``; off with ``cache.enabled=false``."""
    from socinf.cache import StageCache

    if not cfg.cache.enabled:
        return StageCache(None)
    return StageCache(Path(cfg.cache.dir) if cfg.cache.dir else data_root(cfg) / "cache" / "stages")


def prepare(cfg, cache, root: Path | None = None):
    """The run's data from its config: ``socinf.data.prepare`` on the verified corpus (or the user's file),
    through ``cache``. Returns (prepared data, its cache key, cache hit)."""
    from socinf.data.prepare import corpus_source, prepare_data

    root = data_root(cfg) if root is None else root
    source = corpus_source(cfg.dataset, root, cfg.data.dir, cfg.data.url_base, cfg.data.download_if_missing)
    return prepare_data(cfg.dataset, cfg.eval, cfg.seed, source, cache)
