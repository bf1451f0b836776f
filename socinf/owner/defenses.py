"""Defenses against membership inference (paper Section V), chosen by ``defense=``.

Two kinds, composable:

- training defenses change how the owner fits the model: ``dp`` (V.A,
  differentially private training, ``dp_models.py``) and ``regularize`` (V.C,
  stronger regularisation per algorithm, from ``defense.params.<target>``);
- output defenses change what the prediction API answers, applied at the
  output boundary by ``defended`` (the same wrapper ``socinf serve`` uses, so a
  live API answers exactly what a local target does): ``top_k`` keeps the k
  largest probabilities and zeroes the rest, ``round`` keeps ``digits``
  decimals (V.B: [0.13, 0.27, 0.6] -> [0.1, 0.3, 0.6]), ``label_only`` answers
  a one-hot vector of the predicted class.

``defense.name`` picks the main defense; ``defense.k`` and ``defense.digits``
also apply on top of any training defense (``defense=dp defense.digits=2``)
and with each other (``defense=top_k defense.k=2 defense.digits=1``: top-k
first, then rounding). ``label_only`` takes neither: a one-hot is already the
coarsest answer.

Outputs are NOT renormalised: an API that coarsens its answers publishes the
coarsened numbers. Rows of a rounded answer may therefore sum to 1 +/- (number
of non-zero entries) * 0.5 * 10**-digits, and a top-k answer sums to the mass
of its k largest entries (>= k/K); ``row_sum_bounds`` gives the exact interval
a client should accept.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from socinf.errors import ConfigError
from socinf.owner.defense_config import DEFENSES, TRAINING_DEFENSES, DefenseConfig  # noqa: F401 - re-exported
from socinf.owner.models import LOCAL_MODELS, fit_local_model
from socinf.io import plain
from socinf.settings import settings_from
DP_LOGISTIC_KEYS = ("C", "max_iter", "tol", "fit_intercept")
DP_MLP_KEYS = ("epochs", "batch_size", "lr")
NO_DP_TRAINER = ("defense=dp with target=xgboost: XGBoost has no maintained differentially private trainer; "
                 "expected target=logistic (diffprivlib) or target=mlp (Opacus DP-SGD), or a non-DP defense "
                 "for XGBoost (regularize, round, top_k, label_only)")


# ------------------------------------------------------------------ output defenses (exact, on arrays)

def top_k_probs(probs: np.ndarray, k: int) -> np.ndarray:
    """The k largest entries of each row kept, the rest 0 (ties: the lower class index wins)."""
    probs = np.asarray(probs, dtype=np.float64)
    if k >= probs.shape[1]:
        return probs.copy()
    drop = np.argsort(-probs, axis=1, kind="stable")[:, k:]
    out = probs.copy()
    np.put_along_axis(out, drop, 0.0, axis=1)
    return out


def round_probs(probs: np.ndarray, digits: int) -> np.ndarray:
    """Each probability rounded to ``digits`` decimals (numpy's round-half-to-even); not renormalised."""
    return np.round(np.asarray(probs, dtype=np.float64), digits)


def label_only_probs(probs: np.ndarray) -> np.ndarray:
    """A one-hot of each row's predicted (argmax) class."""
    probs = np.asarray(probs, dtype=np.float64)
    out = np.zeros_like(probs)
    out[np.arange(len(probs)), probs.argmax(axis=1)] = 1.0
    return out


def apply_output_defense(probs: np.ndarray, defense) -> np.ndarray:
    """What the API answers for the model's raw ``probs`` under ``defense`` (top-k, then rounding, or one-hot)."""
    if defense.name == "label_only":
        return label_only_probs(probs)
    out = np.asarray(probs, dtype=np.float64)
    if defense.k is not None:
        out = top_k_probs(out, defense.k)
    if defense.digits is not None:
        out = round_probs(out, defense.digits)
    return out


def has_output_defense(defense) -> bool:
    return defense.name == "label_only" or defense.k is not None or defense.digits is not None


def row_sum_bounds(defense, n_classes: int) -> tuple[float, float]:
    """The interval every answered row's sum lies in (before a client's float tolerance)."""
    if defense.name == "label_only":
        return 1.0, 1.0
    kept = n_classes if defense.k is None else min(defense.k, n_classes)
    low = kept / n_classes if kept < n_classes else 1.0
    slack = kept * 0.5 * 10.0 ** -defense.digits if defense.digits is not None else 0.0
    return max(low - slack, 0.0), 1.0 + slack


class DefendedModel:
    """A fitted model behind an output defense: ``predict_proba`` answers the coarsened vectors."""

    def __init__(self, model, defense):
        self.model = model
        self.defense = defense

    @property
    def classes_(self):
        return self.model.classes_

    @property
    def socinf_dense_input_(self) -> bool:  # owner.models.DENSE_INPUT: read records as the model was fitted
        return bool(getattr(self.model, "socinf_dense_input_", False))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return apply_output_defense(self.model.predict_proba(X), self.defense)


# ------------------------------------------------------------------ checks

def check_defense(defense, target_name: str | None = None) -> DefenseConfig:
    """The checked ``DefenseConfig`` (from it or a mapping of its fields), and the rules between the defense and
    the target's algorithm ``target_name``; one ConfigError line otherwise (call before any training)."""
    d = settings_from(defense, DefenseConfig, "defense")
    if d.name == "dp":
        if target_name == "xgboost":
            raise ConfigError(NO_DP_TRAINER)
        if target_name == "logistic" and (d.data_norm is None or d.data_norm <= 0):
            raise ConfigError(f"defense.data_norm={d.data_norm}: DP logistic regression needs a row-norm bound > 0 "
                              "(rows are clipped to it; a bound taken from the data would leak)")
        if target_name == "mlp":
            if d.delta is None or not 0 < d.delta < 1:
                raise ConfigError(f"defense.delta={d.delta}: DP-SGD needs 0 < delta < 1 (e.g. 1e-5)")
            if d.max_grad_norm is None or d.max_grad_norm <= 0:
                raise ConfigError(f"defense.max_grad_norm={d.max_grad_norm}: DP-SGD needs a clipping norm > 0")
    return d


def _algorithm_params(defense, target_name: str) -> dict:
    params = dict(plain(defense.params) or {})
    chosen = params.get(target_name) or {}
    if not isinstance(chosen, dict):
        raise ConfigError(f"defense.params.{target_name}={chosen!r}: expected a mapping of hyper-parameters")
    return dict(chosen)


def _only(params: Mapping[str, Any], allowed: tuple, where: str) -> dict:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(allowed)}")
    return dict(params)


# ------------------------------------------------------------------ training

def _fit_dp(name: str, params: Mapping[str, Any], defense, X, y, seed: int, threads: int):
    from socinf.owner import dp_models

    extra = _algorithm_params(defense, name)
    if name == "logistic":
        kwargs = {k: v for k, v in params.items() if k in DP_LOGISTIC_KEYS}
        kwargs.update(_only(extra, DP_LOGISTIC_KEYS, "defense.params.logistic"))
        model = dp_models.make_dp_logistic(defense.epsilon, defense.data_norm, seed, **kwargs)
        from socinf.sparse import dense

        model.fit(dense(X, np.float64), np.asarray(y))  # diffprivlib clips dense rows to data_norm
        model.socinf_dense_input_ = True  # and reads them dense (owner.models.answers)
        spent, delta = dp_models.dp_logistic_spent(model)
        report = {"mechanism": "objective perturbation (diffprivlib LogisticRegression)", "epsilon_spent": spent,
                  "delta_spent": delta, "data_norm": defense.data_norm, "params": kwargs}
    else:  # mlp (xgboost was refused by check_defense)
        kwargs = _only(extra, DP_MLP_KEYS, "defense.params.mlp")
        hidden = params.get("hidden_layer_sizes", (64,))
        model = dp_models.DPMLPClassifier(defense.epsilon, defense.delta, defense.max_grad_norm, hidden,
                                          random_state=seed, threads=threads, **kwargs)
        model.fit(X, y)
        report = {"mechanism": f"DP-SGD (Opacus, {model.accountant_.upper()} accountant)",
                  "epsilon_spent": model.epsilon_spent_,
                  "delta_spent": defense.delta, "max_grad_norm": defense.max_grad_norm,
                  "noise_multiplier": model.noise_multiplier_, "sample_rate": model.sample_rate_,
                  "params": {"hidden_layer_sizes": list(hidden), "epochs": model.epochs,
                             "batch_size": model.batch_size, "lr": model.lr}}
    report["epsilon"] = defense.epsilon
    return model, report


def fit_with_defense(name, params, defense, X, y, seed, threads):
    """The owner's fitted model for target ``name`` under the training part of ``defense``.

    The fitted model carries ``socinf_defense_`` (what was applied, the epsilon
    spent), which ``describe`` reports; output defenses are applied later by ``defended``.
    """
    defense = check_defense(defense, name)
    if name not in LOCAL_MODELS:
        raise ConfigError(f"target={name!r} is not a local model; expected one of {', '.join(LOCAL_MODELS)}")
    params = dict(params)
    if defense.name == "dp":
        model, report = _fit_dp(name, params, defense, X, y, seed, threads)
    elif defense.name == "regularize":
        stronger = _algorithm_params(defense, name)
        model = fit_local_model(name, {**params, **stronger}, X, y, seed, threads)
        report = {"params": stronger}
    else:
        model, report = fit_local_model(name, params, X, y, seed, threads), {}
    model.socinf_defense_ = report
    return model


def defended(model, defense):
    """The model as the API serves it: wrapped by the output defense, or itself when there is none."""
    defense = check_defense(defense)
    return DefendedModel(model, defense) if has_output_defense(defense) else model


def setting_label(defense) -> str:
    """A short name for one defense setting, as tables and figures show it (e.g. ``dp(eps=1)+round(2)``)."""
    d = defense
    eps = f"{d.epsilon:g}" if d.epsilon is not None else "?"
    main = {"dp": f"dp(eps={eps})", "round": f"round({d.digits})", "top_k": f"top_k({d.k})"}
    parts = [main.get(d.name, d.name)]
    if d.name != "top_k" and d.k is not None:
        parts.append(f"top_k({d.k})")
    if d.name != "round" and d.digits is not None:
        parts.append(f"round({d.digits})")
    return "+".join(parts)


def describe(model, defense) -> dict:
    """What metrics.json records under target.defense: the setting, its parameters, the epsilon spent."""
    d = defense
    out: dict[str, Any] = {"name": d.name, "setting": setting_label(d)}
    if has_output_defense(d):
        out["output"] = {"label_only": d.name == "label_only", "top_k": d.k, "digits": d.digits,
                         "renormalised": False}
    if d.name in TRAINING_DEFENSES:
        out["training"] = dict(getattr(model, "socinf_defense_", {}) or {})
    if d.name == "dp":
        out["epsilon"] = d.epsilon
        out["epsilon_spent"] = out["training"].get("epsilon_spent")
        out["delta"] = out["training"].get("delta_spent")
    return out
