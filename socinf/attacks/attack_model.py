"""Stage 4 — the attack model: in/out from a prediction vector (paper III.E, IV.E).

``attack=xgboost|svm|knn|nn``. Inputs are prediction vectors, by default sorted
in decreasing order (``attack.features=sorted``): membership shows in how
confident an answer is, not in which class it names, so one attack model
serves every class; ``raw`` keeps the class order as the paper's figure does.
Training sets are balanced by subsampling the larger side, so a decision
threshold of 0.5 means the same for every attack model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping

import numpy as np

from socinf.errors import ConfigError
from socinf.settings import MAPPING, Options, check

ATTACK_MODELS = ("xgboost", "svm", "knn", "nn")
FEATURE_MODES = ("sorted", "raw")


@dataclass
class AttackModelConfig:
    """``attack=``: the attack model of SocInf's stage 4 and of Shadow training."""

    name: str = "xgboost"  # xgboost (the paper's) | svm | knn | nn
    features: str = "sorted"  # sorted: class-agnostic sorted probability vector | raw
    params: Dict[str, Any] = field(default_factory=dict)  # the estimator's hyper-parameters

    constraints: ClassVar[dict] = {"name": [Options(ATTACK_MODELS)], "features": [Options(FEATURE_MODES)],
                                   "params": [MAPPING]}


def attack_model_settings(attack) -> AttackModelConfig:
    """The checked attack-model settings an attack object stores as ``attack_model``, ``attack_params``, ``features``."""
    return check(AttackModelConfig(attack.attack_model, attack.features, dict(attack.attack_params or {})), "attack")


def attack_features(probs: np.ndarray, mode: str) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if mode == "sorted":
        return -np.sort(-probs, axis=1)
    if mode == "raw":
        return probs
    raise ConfigError(f"attack.features={mode!r}: expected one of {', '.join(FEATURE_MODES)}")


def make_attack_model(name: str, params: Mapping[str, Any], seed: int, threads: int = 1):
    params = dict(params)
    if name == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(random_state=seed, n_jobs=threads, tree_method="hist", **params)
    if name == "svm":
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        # Platt scaling of the SVM's decision values, fitted on 5-fold out-of-fold scores and one SVM on all
        # rows (ensemble=False): what SVC(probability=True) did, without its deprecation (removed in 1.11).
        return CalibratedClassifierCV(SVC(**params), method="sigmoid", cv=5, ensemble=False)
    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(**params)
    if name == "nn":
        from sklearn.neural_network import MLPClassifier

        if "hidden_layer_sizes" in params:
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        return MLPClassifier(random_state=seed, **params)
    raise ConfigError(f"attack={name!r}: expected one of {', '.join(ATTACK_MODELS)}")


def balanced_subsample(is_in: np.ndarray, rng) -> np.ndarray:
    """Indices with as many "in" as "out" rows (all of the smaller side)."""
    inside, outside = np.flatnonzero(is_in), np.flatnonzero(~is_in)
    n = min(len(inside), len(outside))
    return np.sort(np.concatenate([rng.choice(inside, n, replace=False), rng.choice(outside, n, replace=False)]))


class AttackModel:
    """Fit on (prediction vector, in/out); ``score`` is P(member)."""

    def __init__(self, name: str, params: Mapping[str, Any], features: str, seed: int, threads: int = 1):
        self.name, self.features, self.seed = name, features, seed
        self.model = make_attack_model(name, params, seed, threads)

    def fit(self, probs: np.ndarray, is_in: np.ndarray) -> "AttackModel":
        is_in = np.asarray(is_in, dtype=bool)
        self.constant_ = None
        if is_in.all() or not is_in.any():
            # one side only: the target's answers could not be split (e.g. defense=label_only answers
            # identical one-hot vectors per class). Nothing to learn: every record gets the same score.
            self.constant_ = float(is_in.all())
            return self
        rows = balanced_subsample(is_in, np.random.default_rng(self.seed))
        self.model.fit(attack_features(probs[rows], self.features), is_in[rows].astype(int))
        return self

    def score(self, probs: np.ndarray) -> np.ndarray:
        if self.constant_ is not None:
            return np.full(len(probs), self.constant_)
        return self.model.predict_proba(attack_features(probs, self.features))[:, 1]
