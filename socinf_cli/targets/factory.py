"""Build the target under audit from config: train it (or reach it), defend it, count its queries.

``open_target`` is a context manager because a remote target may own a server
process that must be stopped however the run ends.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
from omegaconf import OmegaConf

from socinf_cli.cache import StageCache, content_key
from socinf_cli.data.prepare import PreparedData
from socinf_cli.data.splits import Splits
from socinf_cli.runtime import abort_on_interrupt
from socinf_cli.targets.base import CountingTarget
from socinf_cli.targets.local import LOCAL_MODELS, accuracy


@dataclass
class OpenedTarget:
    target: CountingTarget
    key: str  # content hash identifying this target's answers (for the stage cache)
    report: dict  # name, train/test accuracy, overfitting gap, defense details
    splits: Splits  # the membership truth the evaluator uses (a remote server's own split)
    query_stats: Callable[[], dict] = dict  # extra query figures (budget, HTTP requests), read after the last query


def target_key(cfg, data_key: str) -> str:
    plain = lambda node: OmegaConf.to_container(node, resolve=True)  # noqa: E731
    return content_key("target", data_key, plain(cfg.target), plain(cfg.defense), cfg.seed)


def utility_report(name: str, model, prepared: PreparedData, splits: Splits) -> dict:
    X, y = prepared.X, prepared.y
    train = accuracy(model, X[splits.members], y[splits.members])
    test = accuracy(model, X[splits.heldout], y[splits.heldout])
    return {"name": name, "train_accuracy": train, "test_accuracy": test, "overfitting_gap": train - test}


def train_local_target(cfg, prepared: PreparedData, cache: StageCache, key: str):
    """The owner's model, fitted on the members (cached by content hash)."""
    from socinf_cli.targets import defenses

    s = prepared.splits
    X, y = prepared.X[s.members], prepared.y[s.members]
    params = OmegaConf.to_container(cfg.target.params, resolve=True)

    def compute():
        with abort_on_interrupt():  # never cache a model that Ctrl-C cut short
            return defenses.fit_with_defense(cfg.target.name, params, cfg.defense, X, y, cfg.seed, cfg.threads)

    model, _ = cache.get_or_compute("target_model", key, compute)
    return model


@contextmanager
def open_target(cfg, prepared: PreparedData, cache: StageCache, data_key: str) -> Iterator[OpenedTarget]:
    key = target_key(cfg, data_key)
    if cfg.target.name == "remote":
        from socinf_cli.targets.remote import open_remote_target

        with open_remote_target(cfg, prepared, key) as opened:
            yield opened
        return
    from socinf_cli.targets import defenses

    if cfg.target.name not in LOCAL_MODELS:
        from socinf_cli.errors import ConfigError

        raise ConfigError(f"target={cfg.target.name!r}: expected one of {', '.join(LOCAL_MODELS + ('remote',))}")
    model = train_local_target(cfg, prepared, cache, key)
    served = defenses.defended(model, cfg.defense)  # the output boundary, as the API would apply it
    report = utility_report(cfg.target.name, served, prepared, prepared.splits)  # what API users get
    report["defense"] = defenses.describe(model, cfg.defense)
    n_features = prepared.X.shape[1]
    yield OpenedTarget(CountingTarget(served, prepared.n_classes, n_features), key, report, prepared.splits)


def query_all(target: CountingTarget, X: np.ndarray, stage: str) -> np.ndarray:
    with target.stage(stage):
        return target.predict_proba(X)
