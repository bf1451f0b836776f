"""Local target models: what a model owner trains on the member split.

Hyper-parameters are given by the caller (the CLI reads ``conf/target/<name>.yaml``);
every estimator gets an explicit ``random_state`` and thread count so a run is
reproducible and parallel sweep jobs do not oversubscribe the cores.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from socinf.errors import ConfigError

LOCAL_MODELS = ("logistic", "xgboost", "mlp")


def make_estimator(name, params: Mapping[str, Any], seed: int, threads: int = 1):
    """A fresh, unfitted scikit-learn-style classifier: ``name`` is one of ``LOCAL_MODELS``, or an estimator
    object (a user's own model: an unfitted copy with its hyper-parameters, ``params`` on top)."""
    params = dict(params or {})
    if not isinstance(name, str):
        from sklearn.base import clone

        estimator = clone(name)
        if "random_state" in estimator.get_params():
            params.setdefault("random_state", seed)
        return estimator.set_params(**params)
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


def fit_local_model(name: str, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray, seed: int, threads: int = 1):
    """Train the target; labels must be 0..K-1 with every class present."""
    model = make_estimator(name, params, seed, threads)
    model.fit(np.asarray(X, dtype=np.float32), np.asarray(y))
    return model


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    if len(y) == 0:
        return float("nan")
    return float((np.asarray(model.predict_proba(X)).argmax(axis=1) == y).mean())


def utility_report(name: str, model, X: np.ndarray, y: np.ndarray, members: np.ndarray, heldout: np.ndarray) -> dict:
    """Train / test accuracy of the answers the model serves, and the overfitting gap (paper IV.F)."""
    train, test = accuracy(model, X[members], y[members]), accuracy(model, X[heldout], y[heldout])
    return {"name": name, "train_accuracy": train, "test_accuracy": test, "overfitting_gap": train - test}
