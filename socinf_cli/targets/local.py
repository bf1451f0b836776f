"""Local target models: what a model owner trains on the member split.

Hyper-parameters come from ``conf/target/<name>.yaml`` (``target.params``);
every estimator gets an explicit ``random_state`` and thread count so a run is
reproducible and parallel sweep jobs do not oversubscribe the cores.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from socinf_cli.errors import ConfigError

LOCAL_MODELS = ("logistic", "xgboost", "mlp")


def make_estimator(name: str, params: Mapping[str, Any], seed: int, threads: int = 1):
    """A fresh, unfitted scikit-learn-style classifier for ``name``."""
    params = dict(params)
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression

        params.setdefault("max_iter", 2000)
        return LogisticRegression(random_state=seed, **params)
    if name == "xgboost":
        from xgboost import XGBClassifier

        params.setdefault("tree_method", "hist")
        return XGBClassifier(random_state=seed, n_jobs=threads, **params)
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier

        if "hidden_layer_sizes" in params:
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        return MLPClassifier(random_state=seed, **params)
    raise ConfigError(f"target={name!r} is not a local model; expected one of {', '.join(LOCAL_MODELS)}")


def model_params(cfg, name: str) -> dict:
    """Hyper-parameters of local model ``name``: the composed ``target.params`` when the run's target is
    that model, else ``conf/target/<name>.yaml`` — one source of truth for local, served and shadow models."""
    from omegaconf import OmegaConf

    from socinf_cli.cli import config_dir
    from socinf_cli.config import plain

    if cfg.target.name == name:
        return plain(cfg.target.params)
    path = config_dir() / "target" / f"{name}.yaml"
    if name not in LOCAL_MODELS or not path.exists():
        raise ConfigError(f"model {name!r}: expected one of {', '.join(LOCAL_MODELS)}")
    return plain(OmegaConf.load(path).get("params", {}))


def fit_local_model(name: str, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray, seed: int, threads: int = 1):
    """Train the target; labels must be 0..K-1 with every class present."""
    model = make_estimator(name, params, seed, threads)
    model.fit(np.asarray(X, dtype=np.float32), np.asarray(y))
    return model


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    if len(y) == 0:
        return float("nan")
    return float((np.asarray(model.predict_proba(X)).argmax(axis=1) == y).mean())
