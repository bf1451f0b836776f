"""Issue #11 hardening, defect 1: the stage cache never runs code and never lies.

Real files planted in the real cache directory, a real `socinf run` subprocess.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import warnings

import numpy as np

from socinf.cache import StageCache
from socinf_runner import run_audit


class _Evil:
    """Unpickling this runs a shell command: what a planted cache file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _entries(cache_root):
    """The metadata file of every stage entry (``<stage>/<key>.json``; before #11 entries were ``<key>.pkl``)."""
    return sorted({p.with_suffix(".json") for p in cache_root.glob("*/*") if p.suffix in (".json", ".pkl")})


def test_planted_pickle_in_stage_cache_never_runs(tmp_path, shared_data_dir):
    fast = ["method=socinf", "mimic.epochs=20", "dataset.per_class=200", "eval.size=80", "synthesis.n_records=400"]
    proc, first = run_audit(tmp_path, shared_data_dir, fast, name="first")
    assert proc.returncode == 0, proc.stderr[-2000:]
    root = tmp_path / "data" / "cache" / "stages"
    entries = _entries(root)
    assert {p.parent.name for p in entries} >= {"data", "target_model", "synthetic", "mimic"}
    marker = tmp_path / "PWNED"
    evil = pickle.dumps(_Evil(marker))
    for i, meta in enumerate(entries):
        key = meta.with_suffix("")
        key.with_suffix(".pkl").write_bytes(evil)  # where socinf < #11 looked
        key.with_suffix(".npz").write_bytes(evil)  # where it looks now
        if i % 2 and meta.exists():  # and half of the metadata files replaced by random bytes
            meta.write_bytes(np.random.default_rng(i).bytes(300))
    proc, second = run_audit(tmp_path, shared_data_dir, fast, name="second")
    assert not marker.exists(), "a planted pickle ran"
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    ignored = [line for line in out.splitlines() if "stage cache: ignoring" in line]
    assert len(ignored) == len(entries), ignored  # one line per bad entry, naming its file
    assert {line.split("ignoring ")[1].split(" ")[0] for line in ignored} == {str(p) for p in entries}
    assert second["attack"]["auc"] == first["attack"]["auc"]  # recomputed, same seed, same result
    assert second["queries"]["sent"] == first["queries"]["sent"]  # nothing taken from the bad entries
    # the recomputed entries replaced the bad ones: every one loads again
    assert all(StageCache(root).load(p.parent.name, p.stem) is not None for p in entries)


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "stage cache" in r.getMessage()]


def test_random_bytes_entry_is_recomputed_with_one_line(tmp_path, caplog):
    cache = StageCache(tmp_path)
    cache.save("synthetic", "k1", {"X": np.eye(3)})
    for suffix in (".json", ".npz"):
        (tmp_path / "synthetic" / f"k1{suffix}").write_bytes(os.urandom(1000))
    caplog.set_level(logging.WARNING)
    value, hit = cache.get_or_compute("synthetic", "k1", lambda: "fresh")
    assert (value, hit) == ("fresh", False)
    assert len(_warnings(caplog)) == 1 and str(tmp_path / "synthetic" / "k1.json") in _warnings(caplog)[0]


def test_entry_of_another_config_copied_onto_a_key_is_refused(tmp_path, caplog):
    cache = StageCache(tmp_path)
    cache.save("shadow", "mine", (np.arange(3), np.arange(3)), config={"seed": 1})
    cache.save("shadow", "theirs", (np.arange(5), np.arange(5)), config={"seed": 2})
    stage = tmp_path / "shadow"
    for suffix in (".json", ".npz"):
        shutil.copy(stage / f"theirs{suffix}", stage / f"mine{suffix}")
    caplog.set_level(logging.WARNING)
    assert StageCache(tmp_path).load("shadow", "mine") is None
    assert "another entry" in _warnings(caplog)[0]
    meta = json.loads((stage / "theirs.json").read_text())
    assert meta["key"] == "theirs" and meta["stage"] == "shadow" and meta["config"] == {"seed": 2}


def test_tampered_arrays_and_foreign_classes_are_refused(tmp_path, caplog):
    cache = StageCache(tmp_path)
    cache.save("synthetic", "k", [np.arange(4)])
    npz = tmp_path / "synthetic" / "k.npz"
    data = bytearray(npz.read_bytes())
    data[-30] ^= 0xFF
    npz.write_bytes(bytes(data))
    caplog.set_level(logging.WARNING)
    assert StageCache(tmp_path).load("synthetic", "k") is None and "checksum" in _warnings(caplog)[0]
    # a well-formed entry naming a class outside the stage's allow-list is refused before anything is imported
    cache.save("synthetic", "k2", {"a": 1})
    meta_path = tmp_path / "synthetic" / "k2.json"
    meta = json.loads(meta_path.read_text())
    meta["value"] = {"$object": "os:system", "dict": {"$dict": []}}
    meta_path.write_text(json.dumps(meta))
    assert StageCache(tmp_path).load("synthetic", "k2") is None and "not allowed" in _warnings(caplog)[-1]


def test_every_cached_stage_round_trips_exactly(tmp_path):
    from omegaconf import OmegaConf

    from socinf.attacks.mimic import MimicConfig, MimicGAN
    from socinf.owner.defenses import fit_with_defense

    rng = np.random.default_rng(0)
    X, y = (rng.random((240, 12)) > 0.5).astype(np.float32), np.arange(240) % 3
    none = {"name": "none", "k": None, "digits": None, "epsilon": None, "data_norm": None, "delta": None,
            "max_grad_norm": None, "params": {}}
    cache = StageCache(tmp_path)
    for i, (name, params, defense) in enumerate([
            ("logistic", {}, none), ("mlp", {"max_iter": 30}, none), ("xgboost", {"n_estimators": 10}, none),
            ("logistic", {}, {**none, "name": "dp", "epsilon": 1.0, "data_norm": 4.0})]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's convergence warning on a tiny MLP
            model = fit_with_defense(name, params, OmegaConf.create(defense), X, y, 0, 1)
        cache.save("target_model", f"m{i}", model)
        loaded = StageCache(tmp_path).load("target_model", f"m{i}")
        assert type(loaded) is type(model) and np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
        assert loaded.socinf_defense_ == model.socinf_defense_
    gan = MimicGAN(12, 3, MimicConfig(epochs=2), 0).fit(X, np.eye(3)[y])
    cache.save("mimic", "g", gan)
    loaded = StageCache(tmp_path).load("mimic", "g")
    assert np.array_equal(loaded.predict_proba(X), gan.predict_proba(X)) and loaded.history_ == gan.history_

