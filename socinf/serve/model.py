"""What `socinf serve` publishes: the owner's defended model, its input schema, and where the truth is kept.

The served predictor is the owner's model behind its output defense (``owner.defenses.defended``), the same
object a local target answers with, so a remote audit and a local one see the same answers bit for bit. The
membership split and the accuracy report go to the serving run's own directory (``SPLIT_FILE``,
``REPORT_FILE``), for the evaluator; the API never exposes them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from socinf.cache import content_key
from socinf.owner.models import DENSE_INPUT, answers
from socinf.sparse import is_sparse, non_binary_columns, to_format
from socinf.targets.codec import ANSWER_ENCODINGS, ENCODINGS

SPLIT_FILE = "membership_split.json"
REPORT_FILE = "target_report.json"


def split_key(dataset: dict, seed: int) -> str:
    """Content hash of what the member split and the features depend on (not the eval draw)."""
    return content_key("split", dataset, seed)


@dataclass
class ServedModel:
    model_id: str
    predictor: object  # the defended model: what the owner exposes
    schema: dict  # GET /v1/schema: the input format and the classes, nothing about training data
    binary_columns: np.ndarray  # indices of features whose only allowed values are 0 and 1
    sparse: bool = False  # trained on sparse records: every query reaches the model as CSR, as a local target's

    @property
    def n_features(self) -> int:
        return len(self.schema["features"])

    def predict(self, X) -> np.ndarray:
        # float32 in the format the model was fitted on, as the local pipeline holds features (prepared.X):
        # the API then answers bit for bit what the same model answers locally
        # (a model fitted on densified sparse records reads dense rows as they come: no CSR round trip)
        as_given = getattr(self.predictor, DENSE_INPUT, False) and not is_sparse(X)
        return np.asarray(answers(self.predictor, X if as_given else to_format(X, self.sparse)), dtype=np.float64)


def answers_fingerprint(predictor, X: np.ndarray, rows: int = 512) -> str:
    """A hash of what the model answers on fixed records: the model id changes whenever its answers do
    (retrained differently, new library version), so a client's query cache never mixes two models."""
    probe = ServedModel("", predictor, {"features": []}, np.zeros(0, int), is_sparse(X))
    answers = np.ascontiguousarray(probe.predict(X[:rows]))
    return hashlib.sha256(answers.tobytes()).hexdigest()


def input_schema(X: np.ndarray, feature_names: list[str], class_names: list[str], model_id: str, max_batch: int,
                 max_body_bytes: int, row_sums: tuple[float, float], digits: int | None) -> tuple[dict, np.ndarray]:
    """``GET /v1/schema`` (the input format, classes, limits and how answers are coarsened) and the binary columns."""
    is_binary = np.ones(X.shape[1], bool)
    is_binary[non_binary_columns(X)] = False
    binary = np.flatnonzero(is_binary)
    features = [{"name": name, "type": "binary", "values": [0, 1]} if flag else {"name": name, "type": "number"}
                for name, flag in zip(feature_names, is_binary)]
    low, high = row_sums
    schema = {"model_id": model_id, "features": features, "classes": list(class_names),
              "max_batch": max_batch, "max_body_bytes": max_body_bytes,
              "idempotency": True,  # a repeated Idempotency-Key (same body) is answered again, not billed again
              "encodings": list(ENCODINGS),  # instances as lists, or {"indices", "values"} (socinf.targets.codec)
              "answer_encodings": list(ANSWER_ENCODINGS),  # probabilities as JSON numbers, or base64 float64
              "output": {"round_digits": digits, "row_sum_min": low, "row_sum_max": high}}
    return schema, binary
