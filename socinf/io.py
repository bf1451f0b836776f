"""Atomic writes: a result file is either complete or absent, never half-written; a full, read-only or
forbidden location is one ``StorageError`` line naming the path and the cause (``storage_error``)."""
from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from socinf.errors import StorageError

STORAGE_CAUSES = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                  errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                  errno.EPERM: "operation not permitted", errno.EFBIG: "file too large for the file system"}


def storage_error(exc: BaseException, path=None) -> StorageError | None:
    """The one line for an ``OSError`` that is the storage's fault (full, read-only, forbidden), else None."""
    cause = STORAGE_CAUSES.get(getattr(exc, "errno", None)) if isinstance(exc, OSError) else None
    if cause is None:
        return None
    where = exc.filename or path or "a file"
    return StorageError(f"cannot write {where}: {cause}; free space or make it writable, or choose another "
                        "location (data.root=, cache.dir=, hydra.run.dir=, hydra.sweep.dir=)")


def file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the umask (0644 by default). mkstemp uses 0600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise storage_error(exc, path) or exc from None
    try:
        os.fchmod(fd, file_mode())  # results are shared like any file the user writes, not private
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)  # nothing partial is left
        problem = storage_error(exc, path)
        if problem is not None:
            raise problem from None
        raise


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN; null means "not defined here"
    return obj


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(_json_safe(obj), indent=2, sort_keys=False) + "\n")


def plain(node: Any) -> Any:
    """A resolved plain-Python copy of a config node: an OmegaConf node or a dataclass instance becomes a dict;
    dicts, lists and plain values pass through."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return dataclasses.asdict(node) if dataclasses.is_dataclass(node) and not isinstance(node, type) else node
