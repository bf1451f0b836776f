"""Estimator hyper-parameters checked before any work: each configured estimator is built and validated.

scikit-learn checks its parameters in ``_validate_params`` (called by ``fit``);
XGBoost only when it trains. Both are run here, on the configured estimators,
before data is prepared: ``target.params.max_depth=-4`` or ``attack.params.C=-1``
ends the run in one ``ConfigError`` line naming the key, not minutes later in
a traceback. XGBoost and the MLP check some parameters only when they train: they are tried for one
round / iteration on 20 constructed records (a few ms).
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from socinf.errors import ConfigError
from socinf.io import plain

_PLAIN = re.compile(r"^(\w+) must be (.*?), got (.*?)\.?$", re.MULTILINE)
_SKLEARN_PARAM = re.compile(r"The '(\w+)' parameter of \w+ must be (.*?)\. Got (.*?) instead")
_XGB_PARAM = re.compile(r"(?:value (\S+) for )?Parameter[: ]+(\w+)\s+(.*?)(?:\n|$)", re.IGNORECASE)
_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")


def _fail(where: str, params: dict, exc: Exception) -> None:
    text = str(exc)
    found = _SKLEARN_PARAM.search(text)
    if found:
        name, expected, got = found.groups()
        raise ConfigError(f"{where}.{name}={params.get(name, got)}: must be {expected}") from None
    found = _PLAIN.search(text)
    if found and found.group(1) in params:
        raise ConfigError(f"{where}.{found.group(1)}={params[found.group(1)]}: must be {found.group(2)}") from None
    found = _UNEXPECTED.search(text)
    if found:
        raise ConfigError(f"{where}.{found.group(1)}: unknown hyper-parameter of this estimator") from None
    found = _XGB_PARAM.search(text)
    if found and found.group(2) in params:
        name = found.group(2)
        raise ConfigError(f"{where}.{name}={params[name]}: XGBoost refuses it ({found.group(3).strip()[:120]})") \
            from None
    first = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
    raise ConfigError(f"{where}={params}: {first[:200]}") from None


TRIAL_FIT = {"XGBClassifier": {"n_estimators": 1, "n_jobs": 1}, "MLPClassifier": {"max_iter": 1}}


def check_estimator(build, where: str, params: dict) -> None:
    """``build()`` -> an unfitted estimator; its parameters validated (sklearn), and for the estimators that
    check some only in ``fit`` (``TRIAL_FIT``), one short fit on 20 constructed records."""
    try:
        estimator = build()
        for part in (estimator, getattr(estimator, "estimator", None)):  # a wrapper (calibrated SVM) and its model
            if hasattr(part, "_parameter_constraints"):  # scikit-learn's own estimators
                part._validate_params()
        trial = TRIAL_FIT.get(type(estimator).__name__)
        if trial is not None:
            X = np.tile(np.array([[0.0, 1.0], [1.0, 0.0]]), (10, 1))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimator.set_params(**trial).fit(X, np.tile([0, 1], 10))
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - sklearn's InvalidParameterError, XGBoostError, TypeError, ValueError
        _fail(where, params, exc)


def check_estimator_params(cfg) -> None:
    """The target's (or a remote server's) model, the shadow models' and the attack model's hyper-parameters."""
    from socinf.attacks.attack_model import make_attack_model
    from socinf.owner.models import LOCAL_MODELS, make_estimator
    from socinf_cli.targets import model_params

    name = cfg.target.model if cfg.target.name == "remote" else cfg.target.name
    if name in LOCAL_MODELS:
        where = "target.params" if cfg.target.name == name else f"conf/target/{name}.yaml params"
        params = model_params(cfg, name)
        check_estimator(lambda: make_estimator(name, params, cfg.seed, 1), where, params)
        extra = plain(cfg.defense.params).get(name) if cfg.defense.name == "regularize" else None
        if isinstance(extra, dict) and extra:
            both = {**params, **extra}
            check_estimator(lambda: make_estimator(name, both, cfg.seed, 1), f"defense.params.{name}", both)
    attack_params = plain(cfg.attack.params) or {}
    check_estimator(lambda: make_attack_model(cfg.attack.name, attack_params, cfg.seed, 1), "attack.params",
                    attack_params)
