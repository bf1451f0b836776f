"""What `socinf serve` trains and publishes: the owner's model, its input schema, and the membership truth.

The model is trained exactly as a local target is (``prepare_data`` on the same
dataset config and seed, then ``defenses.fit_with_defense`` on the members, and
``defenses.defended`` at the output boundary), so a remote audit and a local
one see the same model. The membership split and the accuracy report go to
the serving run's own directory, for the evaluator; the API never exposes them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from socinf_cli.cache import content_key
from socinf_cli.config import plain
from socinf_cli.targets.local import model_params
from socinf_cli.io import atomic_write_json
from socinf_cli.runtime import abort_on_interrupt

SPLIT_FILE = "membership_split.json"
REPORT_FILE = "target_report.json"


def split_key(cfg) -> str:
    """Content hash of what the member split and the features depend on (not the eval draw)."""
    return content_key("split", plain(cfg.dataset), cfg.seed)


@dataclass
class ServedModel:
    model_id: str
    predictor: object  # the defended model: what the owner exposes
    schema: dict  # GET /v1/schema: the input format and the classes, nothing about training data
    binary_columns: np.ndarray  # indices of features whose only allowed values are 0 and 1
    round_digits: int | None  # API-level output precision (on top of any output defense)

    @property
    def n_features(self) -> int:
        return len(self.schema["features"])

    def predict(self, X: np.ndarray) -> np.ndarray:
        # float32, as the local pipeline holds features (prepared.X) and as the model was fitted: the API
        # then answers bit for bit what the same model answers locally
        probs = np.asarray(self.predictor.predict_proba(np.asarray(X, dtype=np.float32)), dtype=np.float64)
        return np.round(probs, self.round_digits) if self.round_digits is not None else probs


def row_sum_bounds(cfg, n_classes: int) -> tuple[float, float]:
    """The interval every served row sums into: the output defense's, widened by the API's own rounding."""
    from socinf_cli.targets.defenses import row_sum_bounds as defense_bounds

    low, high = defense_bounds(cfg.defense, n_classes)
    slack = n_classes * 0.5 * 10.0 ** -cfg.serve.round_digits if cfg.serve.round_digits is not None else 0.0
    return max(low - slack, 0.0), high + slack


def answers_fingerprint(predictor, X: np.ndarray, round_digits: int | None, rows: int = 512) -> str:
    """A hash of what the model answers on fixed records: the model id changes whenever its answers do
    (retrained differently, new library version), so a client's query cache never mixes two models."""
    probe = ServedModel("", predictor, {"features": []}, np.zeros(0, int), round_digits)
    answers = np.ascontiguousarray(probe.predict(np.asarray(X[:rows], dtype=np.float64)))
    return hashlib.sha256(answers.tobytes()).hexdigest()


def input_schema(prepared, model_id: str, cfg) -> tuple[dict, np.ndarray]:
    X = prepared.X
    binary = np.flatnonzero(((X == 0) | (X == 1)).all(axis=0))
    is_binary = np.zeros(X.shape[1], bool)
    is_binary[binary] = True
    features = [{"name": name, "type": "binary", "values": [0, 1]} if flag else {"name": name, "type": "number"}
                for name, flag in zip(prepared.feature_names, is_binary)]
    low, high = row_sum_bounds(cfg, prepared.n_classes)
    schema = {"model_id": model_id, "features": features, "classes": list(prepared.class_names),
              "max_batch": cfg.serve.max_batch, "max_body_bytes": cfg.serve.max_body_bytes,
              "output": {"round_digits": cfg.serve.round_digits, "row_sum_min": low, "row_sum_max": high}}
    return schema, binary


def build_served_model(cfg, run_dir: Path) -> ServedModel:
    """Prepare the data, train (or load) the owner's model, write the split and report to ``run_dir``."""
    from socinf_cli.data.prepare import prepare_data
    from socinf_cli.runtime import data_root, stage_cache
    from socinf_cli.targets import defenses
    from socinf_cli.targets.factory import utility_report

    cache = stage_cache(cfg)
    prepared, data_key, _ = prepare_data(cfg, data_root(cfg), cache)
    name, params, s = cfg.serve.model, model_params(cfg, cfg.serve.model), prepared.splits
    config_id = content_key("served-model", split_key(cfg), name, params, plain(cfg.defense), cfg.seed,
                            cfg.serve.round_digits)

    def fit():
        with abort_on_interrupt():
            return defenses.fit_with_defense(name, params, cfg.defense, prepared.X[s.members], prepared.y[s.members],
                                             cfg.seed, cfg.threads)

    model, _ = cache.get_or_compute("target_model", content_key("served", config_id), fit)
    predictor = defenses.defended(model, cfg.defense)
    model_id = content_key(config_id, answers_fingerprint(predictor, prepared.X, cfg.serve.round_digits))
    report = utility_report(name, predictor, prepared, s)  # what API users get, as for local targets
    report["defense"] = defenses.describe(model, cfg.defense)
    report.update({"model_id": model_id, "round_digits": cfg.serve.round_digits})
    atomic_write_json(run_dir / REPORT_FILE, report)
    atomic_write_json(run_dir / SPLIT_FILE, {
        "model_id": model_id, "data_key": data_key, "split_key": split_key(cfg), "dataset": plain(cfg.dataset),
        "seed": cfg.seed, "label": prepared.label, "n_records": int(len(prepared.y)),
        "members": s.members.tolist(), "heldout": s.heldout.tolist(), "attacker": s.attacker.tolist()})
    schema, binary = input_schema(prepared, model_id, cfg)
    return ServedModel(model_id, predictor, schema, binary, cfg.serve.round_digits)
