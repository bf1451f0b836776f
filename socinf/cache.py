"""Stage cache: a stage's result stored under a content hash of everything it depends on.

A rerun, a resumed run or another job of a sweep that shares the same inputs
(dataset + split seed, target config, synthesis config, mimic config) loads the
result instead of recomputing it, and target answers loaded this way cost no
queries. Entries are pickles written atomically; an unreadable entry is
recomputed, never trusted.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any, Callable

from socinf.io import atomic_pickle


def content_key(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


class StageCache:
    def __init__(self, root: Path | None):
        self.root = Path(root) if root is not None else None
        self.hits: list[str] = []

    def _path(self, stage: str, key: str) -> Path:
        assert self.root is not None
        return self.root / stage / f"{key}.pkl"

    def load(self, stage: str, key: str) -> Any | None:
        if self.root is None:
            return None
        path = self._path(stage, key)
        try:
            with open(path, "rb") as fh:
                value = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        self.hits.append(stage)
        return value

    def save(self, stage: str, key: str, value: Any) -> None:
        if self.root is not None:
            atomic_pickle(self._path(stage, key), value)

    def get_or_compute(self, stage: str, key: str, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """(value, hit): ``hit`` tells the caller the stage was not recomputed.

        Parallel sweep jobs that need the same entry take turns on a lock file:
        the first computes it, the others wait and load it, so a stage (and the
        target queries inside it) is never computed twice at the same time.
        """
        value = self.load(stage, key)
        if value is not None:
            return value, True
        if self.root is None:  # caching off
            return compute(), False
        lock_path = self._path(stage, key).with_suffix(".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
            value = self.load(stage, key)
            if value is not None:
                return value, True
            value = compute()
            self.save(stage, key, value)
            return value, False
