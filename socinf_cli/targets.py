"""Build the target under audit from config: train it (or reach it), defend it, count its queries.

``open_target`` is a context manager because a remote target may own a server
process that must be stopped however the run ends.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
from omegaconf import OmegaConf

from socinf.cache import StageCache, content_key
from socinf.data.prepare import PreparedData
from socinf.data.splits import Splits
from socinf.runtime import abort_on_interrupt
from socinf.sparse import is_sparse
from socinf.targets.base import CountingTarget, OpenedTarget
from socinf.errors import ConfigError
from socinf.io import plain
from socinf.owner.models import LOCAL_MODELS, AnsweringModel
from socinf.owner.models import utility_report as _utility_report


def target_key(cfg, data_key: str) -> str:
    plain = lambda node: OmegaConf.to_container(node, resolve=True)  # noqa: E731
    return content_key("target", data_key, plain(cfg.target), plain(cfg.defense), cfg.seed)


def utility_report(name: str, model, prepared: PreparedData, splits: Splits) -> dict:
    return _utility_report(name, model, prepared.X, prepared.y, splits.members, splits.heldout)


def model_params(cfg, name: str) -> dict:
    """Hyper-parameters of local model ``name``: the composed ``target.params`` when the run's target is
    that model, else ``conf/target/<name>.yaml`` — one source of truth for local, served and shadow models."""
    from socinf_cli.conf_tree import config_dir

    if cfg.target.name == name:
        return plain(cfg.target.params)
    path = config_dir() / "target" / f"{name}.yaml"
    if name not in LOCAL_MODELS or not path.exists():
        raise ConfigError(f"model {name!r}: expected one of {', '.join(LOCAL_MODELS)}")
    return plain(OmegaConf.load(path).get("params", {}))


def shadow_algorithm(cfg) -> tuple[str, dict]:
    """(algorithm name, hyper-parameters) the attacker assumes the target was trained with: the target's own,
    or for ``target=remote`` those of ``target.model`` (what ``socinf serve`` trains)."""
    name = cfg.target.model if cfg.target.name == "remote" else cfg.target.name
    if name not in LOCAL_MODELS:
        raise ConfigError(f"target.model={name!r}: shadow training needs one of {', '.join(LOCAL_MODELS)}")
    return name, model_params(cfg, name)


def train_local_target(cfg, prepared: PreparedData, cache: StageCache, key: str):
    """The owner's model, fitted on the members (cached by content hash)."""
    from socinf.owner import defenses

    s = prepared.splits
    X, y = prepared.X[s.members], prepared.y[s.members]
    params = OmegaConf.to_container(cfg.target.params, resolve=True)

    def compute():
        with abort_on_interrupt():  # never cache a model that Ctrl-C cut short
            return defenses.fit_with_defense(cfg.target.name, params, cfg.defense, X, y, cfg.seed, cfg.threads)

    config = {"target": plain(cfg.target), "defense": plain(cfg.defense), "seed": cfg.seed}
    model, _ = cache.get_or_compute("target_model", key, compute, config)
    return model


@contextmanager
def open_target(cfg, prepared: PreparedData, cache: StageCache, data_key: str) -> Iterator[OpenedTarget]:
    key = target_key(cfg, data_key)
    if cfg.target.name == "remote":
        from socinf_cli.remote import open_remote_target

        with open_remote_target(cfg, prepared, key) as opened:
            yield opened
        return
    from socinf.owner import defenses

    model = train_local_target(cfg, prepared, cache, key)
    served = defenses.defended(model, cfg.defense)  # the output boundary, as the API would apply it
    report = utility_report(cfg.target.name, served, prepared, prepared.splits)  # what API users get
    report["defense"] = defenses.describe(model, cfg.defense)
    row_sums = defenses.row_sum_bounds(defenses.check_defense(cfg.defense), prepared.n_classes)
    counting = CountingTarget(AnsweringModel(served), prepared.n_classes, prepared.X.shape[1], row_sums=row_sums, name=cfg.target.name,
                              sparse=is_sparse(prepared.X))
    yield OpenedTarget(counting, key, report, prepared.splits)


def query_all(target: CountingTarget, X: np.ndarray, stage: str) -> np.ndarray:
    with target.stage(stage):
        return target.predict_proba(X)
