"""What `socinf serve` trains and publishes: the owner's model, its input schema, and the membership truth.

The model is trained exactly as a local target is (``prepare_data`` on the same
dataset config and seed, then ``defenses.fit_with_defense`` on the members, and
``defenses.defended`` at the output boundary), so a remote audit and a local
one see the same model. The membership split and the accuracy report go to
the serving run's own directory, for the evaluator; the API never exposes them.
"""
from __future__ import annotations

import signal
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from socinf_cli.cache import StageCache, content_key
from socinf_cli.io import atomic_write_json

SPLIT_FILE = "membership_split.json"
REPORT_FILE = "target_report.json"


def _plain(node):
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def split_key(cfg) -> str:
    """Content hash of what the member split and the features depend on (not the eval draw)."""
    return content_key("split", _plain(cfg.dataset), cfg.seed)


def serve_params(cfg) -> dict:
    """Hyper-parameters of ``serve.model``: the composed ``target.params`` if it names the same model,
    else ``conf/target/<model>.yaml`` — one source of truth for local and served models."""
    if cfg.target.name == cfg.serve.model:
        return _plain(cfg.target.params)
    from socinf_cli.cli import config_dir

    return _plain(OmegaConf.load(config_dir() / "target" / f"{cfg.serve.model}.yaml").get("params", {}))


@contextmanager
def abort_on_interrupt():
    """scikit-learn's MLP swallows Ctrl-C and returns a half-trained model: remember the signal and abort
    instead, so neither the server nor the stage cache ever holds a half-trained model."""
    interrupted = []

    def handler(signum, frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt


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
        probs = np.asarray(self.predictor.predict_proba(np.asarray(X, dtype=np.float32)), dtype=np.float64)
        return np.round(probs, self.round_digits) if self.round_digits is not None else probs


def _sum_tolerance(cfg, n_classes: int) -> tuple[float, bool]:
    """How far a served row may sum from 1 (rounding moves each entry by up to 0.5e-digits)."""
    tolerance = 1e-6
    for digits in (cfg.serve.round_digits, cfg.defense.digits if cfg.defense.name == "round" else None):
        if digits is not None:
            tolerance += n_classes * 0.5 * 10.0 ** -digits
    return tolerance, cfg.defense.name != "top_k"  # top-k may leave probability mass out


def input_schema(prepared, model_id: str, cfg) -> tuple[dict, np.ndarray]:
    X = prepared.X
    binary = np.flatnonzero(((X == 0) | (X == 1)).all(axis=0))
    is_binary = np.zeros(X.shape[1], bool)
    is_binary[binary] = True
    features = [{"name": name, "type": "binary", "values": [0, 1]} if flag else {"name": name, "type": "number"}
                for name, flag in zip(prepared.feature_names, is_binary)]
    tolerance, sums_to_one = _sum_tolerance(cfg, prepared.n_classes)
    schema = {"model_id": model_id, "features": features, "classes": list(prepared.class_names),
              "max_batch": cfg.serve.max_batch, "max_body_bytes": cfg.serve.max_body_bytes,
              "output": {"round_digits": cfg.serve.round_digits, "sums_to_one": sums_to_one,
                         "sum_tolerance": tolerance}}
    return schema, binary


def build_served_model(cfg, run_dir: Path) -> ServedModel:
    """Prepare the data, train (or load) the owner's model, write the split and report to ``run_dir``."""
    from socinf_cli.data.prepare import prepare_data
    from socinf_cli.runtime import data_root
    from socinf_cli.targets import defenses
    from socinf_cli.targets.factory import utility_report

    root = data_root(cfg)
    cache = StageCache((Path(cfg.cache.dir) if cfg.cache.dir else root / "cache" / "stages") if cfg.cache.enabled else None)
    prepared, data_key, _ = prepare_data(cfg, root, cache)
    name, params, s = cfg.serve.model, serve_params(cfg), prepared.splits
    model_id = content_key("served-model", split_key(cfg), name, params, _plain(cfg.defense), cfg.seed,
                           cfg.serve.round_digits)

    def fit():
        with abort_on_interrupt():
            return defenses.fit_with_defense(name, params, cfg.defense, prepared.X[s.members], prepared.y[s.members],
                                             cfg.seed, cfg.threads)

    model, _ = cache.get_or_compute("target_model", content_key("served", model_id), fit)
    report = utility_report(name, model, prepared, s)
    report["defense"] = defenses.describe(model, cfg.defense)
    report.update({"model_id": model_id, "round_digits": cfg.serve.round_digits})
    atomic_write_json(run_dir / REPORT_FILE, report)
    atomic_write_json(run_dir / SPLIT_FILE, {
        "model_id": model_id, "data_key": data_key, "split_key": split_key(cfg), "dataset": _plain(cfg.dataset),
        "seed": cfg.seed, "label": prepared.label, "n_records": int(len(prepared.y)),
        "members": s.members.tolist(), "heldout": s.heldout.tolist(), "attacker": s.attacker.tolist()})
    schema, binary = input_schema(prepared, model_id, cfg)
    return ServedModel(model_id, defenses.defended(model, cfg.defense), schema, binary, cfg.serve.round_digits)
