"""An XGBoost model trained on sparse 0/1 records, rewritten so that dense input reads the same.

XGBoost reads an absent entry of a sparse matrix as missing: at every split a missing feature takes the node's
default branch, while a present one (1) is compared with the split condition. socinf trains such models with
``missing=0`` so a dense 0 is missing too (``socinf.owner.models``), but ``missing`` is a parameter of the
Python wrapper, not of the saved model: a server that loads the file and is sent dense tensors (MLServer's
XGBoost runtime, ``socinf export``) reads 0 as a value and answers differently. ``dense_reading`` rewrites
each split as ``x < 0.5`` with its children ordered so that 0 takes the branch missing took and 1 the branch 1
took: the same leaf for every 0/1 record, so the same answers, bit for bit (leaf values are untouched).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from socinf.errors import ConfigError

BINARY_CUT = 0.5
FAR = float(np.finfo(np.float32).max)  # a condition every 0/1 value is below


def _rewrite_tree(tree: dict) -> None:
    left, right = tree["left_children"], tree["right_children"]
    conditions, default_left = tree["split_conditions"], tree["default_left"]
    for node, (l_child, r_child) in enumerate(zip(list(left), list(right))):
        if l_child == -1:  # a leaf: its split_condition holds the leaf value
            continue
        zero_goes = l_child if default_left[node] else r_child  # missing (0) took the default branch
        one_goes = l_child if 1.0 < conditions[node] else r_child
        if zero_goes == one_goes:  # both values take one branch: keep it, whatever the value
            conditions[node] = FAR if zero_goes == l_child else -FAR
            default_left[node] = int(zero_goes == l_child)
            continue
        left[node], right[node] = zero_goes, one_goes  # 0 < 0.5 goes left, 1 right
        conditions[node], default_left[node] = BINARY_CUT, 1


def dense_reading(model) -> bytes:
    """The JSON model file of ``model`` (an ``XGBClassifier`` trained with ``missing=0`` on 0/1 records) that
    answers dense 0/1 input with 0 read as a value exactly as ``model`` answers it."""
    with tempfile.TemporaryDirectory() as folder:  # save_model keeps the scikit-learn attributes (the estimator
        path = Path(folder) / "model.json"          # type MLServer's runtime reads: else it loads a regressor)
        model.save_model(str(path))
        document = json.loads(path.read_text())
    trees = document["learner"]["gradient_booster"]["model"]["trees"]
    if any(any(t["split_type"]) for t in trees):
        raise ConfigError("the XGBoost model has categorical splits; only numeric 0/1 features can be rewritten")
    for tree in trees:
        _rewrite_tree(tree)
    return json.dumps(document).encode()


def checked_dense_reading(model, X) -> bytes:
    """``dense_reading(model)``, checked on the records ``X`` (0/1, dense or sparse): the rewritten model must
    answer every one of them exactly as ``model`` does, else one ConfigError line."""
    from xgboost import XGBClassifier

    from socinf.sparse import dense, non_binary_columns

    if len(non_binary_columns(X)):
        raise ConfigError("the XGBoost model was trained on sparse records holding values other than 0 and 1; "
                          "a dense reader cannot be made to read 0 as missing (train it with dataset.features=dense)")
    blob = dense_reading(model)
    rewritten = XGBClassifier()
    rewritten.load_model(bytearray(blob))
    probe = dense(X[: min(X.shape[0], 4096)], np.float32)
    if not np.array_equal(rewritten.predict_proba(probe), model.predict_proba(probe)):
        raise ConfigError("the rewritten XGBoost model answers differently from the trained one; train it with "
                          "dataset.features=dense to export it")
    return blob
