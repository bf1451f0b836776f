"""Stage cache: a stage's result stored under a content hash of everything it depends on.

A rerun, a resumed run or another job of a sweep that shares the same inputs
(dataset + split seed, target config, synthesis config, mimic config) loads the
result instead of recomputing it, and target answers loaded this way cost no
queries.

An entry is never unpickled: it is ``<stage>/<key>.npz`` (arrays, read with
``allow_pickle=False``) plus ``<stage>/<key>.json`` (the schema version, the
entry's own stage and key, the config that produced it, the SHA-256 of the
``.npz`` and the value's structure; ``socinf.serialize``). Objects are rebuilt
only from the classes ``STAGE_TYPES`` allows for that stage. An entry whose
schema, stage, key or checksum does not match (a corrupt file, random bytes, a
valid entry of another config copied onto this key) is logged in one line
naming the file and recomputed.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Callable

from socinf.io import atomic_write_bytes, atomic_write_text, storage_error
from socinf.serialize import SerializeError, decode, encode

log = logging.getLogger(__name__)
SCHEMA = 2  # 1 was pickles (never read any more)

_SKLEARN = ("sklearn.linear_model._logistic:LogisticRegression",
            "sklearn.neural_network._multilayer_perceptron:MLPClassifier",
            "sklearn.preprocessing._label:LabelBinarizer", "xgboost.sklearn:XGBClassifier",
            "socinf.owner.dp_models:DPLogisticRegression", "socinf.owner.dp_models:DPMLPClassifier",
            "diffprivlib.accountant:BudgetAccountant")
# What each stage may hold: "module:Class" names, resolved only when an entry names one of them.
STAGE_TYPES: dict[str, frozenset[str]] = {
    "data": frozenset({"socinf.data.prepare:PreparedData", "socinf.data.splits:Splits"}),
    "target_model": frozenset(_SKLEARN),
    "shadow": frozenset(_SKLEARN),
    "reference": frozenset(_SKLEARN),  # LiRA / RMIA reference models (attacks/references.py)
    "reference_data": frozenset(),  # their synthetic training records and the target's answers (arrays only)
    "synthetic": frozenset({"socinf.attacks.socinf:SyntheticData"}),
    "mimic": frozenset({"socinf.attacks.mimic:MimicGAN"}),
}


def content_key(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


class StageCache:
    def __init__(self, root: Path | None):
        self.root = Path(root) if root is not None else None
        self.hits: list[str] = []
        self._reported: set[Path] = set()  # bad entries already logged (one line each)

    def _path(self, stage: str, key: str, suffix: str) -> Path:
        assert self.root is not None
        return self.root / stage / f"{key}{suffix}"

    def _read(self, stage: str, key: str) -> Any:
        meta_path = self._path(stage, key, ".json")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
            raise SerializeError(f"schema {meta.get('schema') if isinstance(meta, dict) else None!r}, expected {SCHEMA}")
        if meta.get("stage") != stage or meta.get("key") != key:
            raise SerializeError(f"holds stage {meta.get('stage')!r} key {meta.get('key')!r} (another entry's copy)")
        npz = self._path(stage, key, ".npz").read_bytes()
        if hashlib.sha256(npz).hexdigest() != meta.get("sha256"):
            raise SerializeError("checksum of the .npz does not match")
        return decode(meta.get("value"), npz, STAGE_TYPES.get(stage, frozenset()))

    def load(self, stage: str, key: str) -> Any | None:
        if self.root is None or not self._path(stage, key, ".json").exists():
            return None
        try:
            value = self._read(stage, key)
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - whatever a bad file raises, it is recomputed, never trusted
            path = self._path(stage, key, ".json")
            if path not in self._reported:
                self._reported.add(path)
                log.warning("stage cache: ignoring %s (%s: %s); recomputing",
                            path, type(exc).__name__, (str(exc).splitlines() or [""])[0][:200])
            return None
        self.hits.append(stage)
        return value

    def save(self, stage: str, key: str, value: Any, config: Any = None) -> None:
        if self.root is None:
            return
        try:
            tree, npz = encode(value, STAGE_TYPES.get(stage, frozenset()))
        except SerializeError as exc:
            log.warning("stage cache: %s result not cached (%s)", stage, exc)
            return
        meta = {"schema": SCHEMA, "stage": stage, "key": key, "config": config,
                "sha256": hashlib.sha256(npz).hexdigest(), "value": tree}
        try:
            atomic_write_bytes(self._path(stage, key, ".npz"), npz)
            atomic_write_text(self._path(stage, key, ".json"), json.dumps(meta, default=str))  # last: commits
        except BaseException:
            self._path(stage, key, ".npz").unlink(missing_ok=True)  # an entry is whole or absent (disk full)
            raise

    def get_or_compute(self, stage: str, key: str, compute: Callable[[], Any], config: Any = None) -> tuple[Any, bool]:
        """(value, hit): ``hit`` tells the caller the stage was not recomputed. ``config`` (JSON-able) is
        recorded in the entry, to tell what produced it.

        Parallel sweep jobs that need the same entry take turns on a lock file:
        the first computes it, the others wait and load it, so a stage (and the
        target queries inside it) is never computed twice at the same time.
        """
        value = self.load(stage, key)
        if value is not None:
            return value, True
        if self.root is None:  # caching off
            return compute(), False
        lock_path = self._path(stage, key, ".lock")
        try:  # a read-only or full cache is one line naming it, before the stage is computed
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(lock_path, "a")
        except OSError as exc:
            raise storage_error(exc, lock_path) or exc from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
            value = self.load(stage, key)
            if value is not None:
                return value, True
            value = compute()
            self.save(stage, key, value, config)
            return value, False
