"""Locate, verify and download the pinned corpus files.

Every file a run reads is checked against its pinned SHA-256 (a corrupted or
silently updated corpus would change every membership-inference number). To
keep repeated runs fast, successful checks are remembered in a JSON sidecar
``<root>/cache/sha256.json`` keyed by absolute path, size and mtime; a file
whose size or mtime changed is hashed again.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from socinf.data.registry import CorpusFiles, PinnedFile, corpus_files
from socinf.errors import DataError

_CHUNK = 1 << 20
_TIMEOUT_S = 60


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


class _HashCache:
    """JSON sidecar of verified files; best effort (a read-only root just means rehashing)."""

    def __init__(self, root: str | Path):
        self.path = Path(root) / "cache" / "sha256.json"
        try:
            self.entries = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.entries = {}
        self.dirty = False

    @staticmethod
    def _key(path: Path) -> tuple[str, list[int]]:
        st = path.stat()
        return str(path.resolve()), [st.st_size, st.st_mtime_ns]

    def known_good(self, path: Path, sha: str) -> bool:
        key, stamp = self._key(path)
        entry = self.entries.get(key)
        return entry is not None and entry["stamp"] == stamp and entry["sha256"] == sha

    def remember(self, path: Path, sha: str) -> None:
        key, stamp = self._key(path)
        self.entries[key] = {"stamp": stamp, "sha256": sha}
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write_text(self.path, json.dumps(self.entries, indent=1, sort_keys=True))
        except OSError:
            pass  # the cache is an optimisation only
        self.dirty = False


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check(path: Path, pinned: PinnedFile, cache: _HashCache) -> str | None:
    """``None`` if ``path`` is present and valid, else ``"missing"`` or the actual SHA-256."""
    if not path.is_file():
        return "missing"
    if cache.known_good(path, pinned.sha256):
        return None
    actual = sha256_file(path)
    if actual != pinned.sha256:
        return actual
    cache.remember(path, actual)
    return None


def _fixes(spec: CorpusFiles, pinned: PinnedFile) -> str:
    return (f"run 'socinf data fetch {spec.corpus}' or point data.dir= / SOCINF_DATA_DIR "
            f"at a folder holding {spec.folder}/{pinned.name}")


def resolve_corpus_dir(corpus: str, data_dir: str | None, root: str | Path) -> Path:
    """Folder holding ``corpus``'s files, every file verified against its pinned SHA-256.

    ``data_dir`` (config ``data.dir``, usually ``${oc.env:SOCINF_DATA_DIR,null}``)
    wins: files are then read from ``<data_dir>/<folder>/``; otherwise from
    ``<root>/raw/<corpus>/`` where ``socinf data fetch`` puts them.
    """
    spec = corpus_files(corpus)
    folder = Path(data_dir) / spec.folder if data_dir else Path(root) / "raw" / corpus
    cache = _HashCache(root)
    try:
        for pinned in spec.files:
            path = folder / pinned.name
            problem = _check(path, pinned, cache)
            if problem == "missing":
                raise DataError(f"{corpus}: missing file {path} (expected SHA-256 {pinned.sha256}); "
                                + _fixes(spec, pinned))
            if problem is not None:
                raise DataError(f"{corpus}: {path} has SHA-256 {problem}, expected {pinned.sha256}; "
                                + _fixes(spec, pinned))
    finally:
        cache.save()  # keep the files verified before a failure
    return folder


def verify_report(corpus: str, data_dir: str | None, root: str | Path) -> list[tuple[str, Path, str]]:
    """``(file name, path, "ok" | "missing" | "bad")`` per pinned file, for ``socinf data info``."""
    spec = corpus_files(corpus)
    folder = Path(data_dir) / spec.folder if data_dir else Path(root) / "raw" / corpus
    cache = _HashCache(root)
    rows = []
    for pinned in spec.files:
        path = folder / pinned.name
        problem = _check(path, pinned, cache)
        rows.append((pinned.name, path, "ok" if problem is None else "missing" if problem == "missing" else "bad"))
    cache.save()
    return rows


def _download(url: str, dest: Path, pinned: PinnedFile, spec: CorpusFiles, bar) -> None:
    """Stream ``url`` into a temp file beside ``dest``, check the hash, then rename atomically."""
    alt = (f"(expected SHA-256 {pinned.sha256}); alternatively point data.dir= / SOCINF_DATA_DIR "
           f"at a folder holding {spec.folder}/{pinned.name}")
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=_TIMEOUT_S) as resp:
                task = bar.add_task(pinned.name, total=int(resp.headers.get("Content-Length") or 0) or None)
                for block in iter(lambda: resp.read(_CHUNK), b""):
                    out.write(block)
                    h.update(block)
                    bar.advance(task, len(block))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = (f"HTTP {exc.code} {exc.reason}" if isinstance(exc, urllib.error.HTTPError)
                      else getattr(exc, "reason", None) or exc)
            raise DataError(f"{spec.corpus}: cannot download {pinned.name} from {url}: {reason} {alt}") from None
        if h.hexdigest() != pinned.sha256:
            raise DataError(f"{spec.corpus}: {pinned.name} downloaded from {url} has SHA-256 "
                            f"{h.hexdigest()} {alt}")
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)  # no partial file survives a failure


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    console=Console(stderr=True), disable=not enabled)


def fetch(corpus: str, root: str | Path, url_base: str | None = None, progress: bool = True) -> Path:
    """Download ``corpus``'s pinned files into ``<root>/raw/<corpus>/``; returns that folder.

    Files already present with the right hash are skipped. ``url_base`` (config
    ``data.url_base``) replaces each pinned URL by ``<url_base>/<folder>/<name>``
    for mirrors and tests; the pinned hash is checked either way.
    """
    spec = corpus_files(corpus)
    dest_dir = Path(root) / "raw" / corpus
    dest_dir.mkdir(parents=True, exist_ok=True)
    cache = _HashCache(root)
    try:
        with _progress(progress) as bar:
            for pinned in spec.files:
                dest = dest_dir / pinned.name
                if _check(dest, pinned, cache) is None:
                    continue
                url = f"{url_base.rstrip('/')}/{spec.folder}/{pinned.name}" if url_base else pinned.url
                _download(url, dest, pinned, spec, bar)
                cache.remember(dest, pinned.sha256)
    finally:
        cache.save()
    return dest_dir
