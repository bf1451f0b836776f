"""Local target models: what a model owner trains on the member split.

Hyper-parameters are given by the caller (the CLI reads ``conf/target/<name>.yaml``);
every estimator gets an explicit ``random_state`` and thread count so a run is
reproducible and parallel sweep jobs do not oversubscribe the cores.

Records may be dense or ``scipy.sparse`` (``socinf.sparse``); every model here takes both. XGBoost reads an
absent entry of a sparse matrix as missing, never as 0: trained on sparse records, ``xgboost`` gets
``missing=0`` so that a 0 in a dense query is missing too, and the model answers the same record alike in
either format (a served model is queried with dense JSON rows). A dense-trained XGBoost reads 0 as a value:
a different model (docs/sparse.md).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from socinf.errors import ConfigError
from socinf.sparse import dense, dense_batches, fits_dense, is_sparse

LOCAL_MODELS = ("logistic", "xgboost", "mlp")
DENSE_INPUT = "socinf_dense_input_"  # set on a model fitted on densified sparse records (``fit_input``)
SPARSE_MISSING = 0.0  # XGBoost's ``missing`` for models trained on sparse records: absent = 0 = missing


def float32(X):
    """``X`` as float32, sparse staying sparse (no copy when it already is)."""
    return X.astype(np.float32, copy=False) if is_sparse(X) else np.asarray(X, dtype=np.float32)


def sparse_params(name, params: Mapping[str, Any], X) -> dict:
    """``params`` for training ``name`` on ``X``: XGBoost on sparse records reads 0 and absent alike (missing)."""
    params = dict(params or {})
    if name != "xgboost" or not is_sparse(X):
        return params
    missing = params.setdefault("missing", SPARSE_MISSING)
    if missing is None or float(missing) != SPARSE_MISSING:
        raise ConfigError(f"target.params.missing={missing}: on sparse records XGBoost reads every absent entry as "
                          "missing whatever `missing` says, so only missing=0 answers a record alike dense and sparse; "
                          "for 0 as a value, hold the records dense (dataset.features=dense)")
    return params


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


def reads_absent_as_zero(estimator) -> bool:
    """Whether ``estimator`` reads an absent entry of a sparse matrix as 0, as its dense form holds it: every
    scikit-learn model, and XGBoost with ``missing=0``; not XGBoost's default ``missing=nan`` (absent = missing)."""
    params = estimator.get_params() if hasattr(estimator, "get_params") else {}
    missing = params.get("missing", 0.0)
    return missing is not None and float(missing) == 0.0


def fit_input(estimator, X):
    """What ``estimator`` is fitted on: sparse records densified when their dense form is small
    (``socinf.sparse.DENSE_BATCH_BYTES``) and the model reads an absent entry as 0 anyway: the very fit a dense
    run makes, bit for bit (sums over non-zeros in another order would move the last bits of an lbfgs path),
    and BLAS is faster there. Larger records, and a model that reads absent entries as missing, as given."""
    if is_sparse(X) and fits_dense(X) and reads_absent_as_zero(estimator):
        return dense(X)
    return X


def answers(model, X, dtype=np.float32) -> np.ndarray:
    """``model.predict_proba`` on records ``X`` (as ``dtype``; None: as given), in the format the model was fitted
    on: a model fitted on densified sparse records (``DENSE_INPUT``) reads sparse records densified too, a
    bounded block at a time, so it answers them bit for bit as in a dense run (float32 sums over the non-zeros
    alone round otherwise). Blocks keep the sparse matrix's dtype when ``dtype`` is None: keyword presence is
    uint8 sparse and dense alike (``socinf.data.features``), and a model computes in the precision its input
    dictates (scikit-learn's LogisticRegression multiplies uint8 rows with float32 weights in float32)."""
    if dtype is not None:
        X = X.astype(dtype, copy=False) if is_sparse(X) else np.asarray(X, dtype=dtype)
    if not (is_sparse(X) and getattr(model, DENSE_INPUT, False)):
        return model.predict_proba(X)
    blocks = [model.predict_proba(block) for block in dense_batches(X, dtype=dtype or X.dtype)]
    return np.concatenate(blocks) if blocks else model.predict_proba(dense(X[:0]))


class AnsweringModel:
    """A fitted model as its owner answers queries: ``answers`` in the records' own dtype, so sparse records
    reach a model fitted on densified ones densified (a dense run's bits; scikit-learn's sparse product
    rounds otherwise). What a local target puts behind the black box."""

    def __init__(self, model):
        self.model = model

    def predict_proba(self, X) -> np.ndarray:
        return answers(self.model, X, dtype=None)


def fit_local_model(name: str, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray, seed: int, threads: int = 1):
    """Train the target; labels must be 0..K-1 with every class present. ``X`` dense or sparse."""
    model = make_estimator(name, sparse_params(name, params, X), seed, threads)
    try:
        records = fit_input(model, X)
        model.fit(float32(records), np.asarray(y))
        if is_sparse(X) and not is_sparse(records):
            setattr(model, DENSE_INPUT, True)
    except (TypeError, ValueError) as exc:
        if is_sparse(X) and "sparse" in str(exc).lower():  # an estimator of the user's that takes dense input only
            raise ConfigError(f"algorithm={type(model).__name__}: does not take sparse records "
                              f"({str(exc).splitlines()[0][:120]}); pass the records as dense arrays") from None
        raise
    return model


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    if len(y) == 0:
        return float("nan")
    return float((np.asarray(answers(model, X, dtype=None)).argmax(axis=1) == y).mean())


def utility_report(name: str, model, X: np.ndarray, y: np.ndarray, members: np.ndarray, heldout: np.ndarray) -> dict:
    """Train / test accuracy of the answers the model serves, and the overfitting gap (paper IV.F)."""
    train, test = accuracy(model, X[members], y[members]), accuracy(model, X[heldout], y[heldout])
    return {"name": name, "train_accuracy": train, "test_accuracy": test, "overfitting_gap": train - test}
