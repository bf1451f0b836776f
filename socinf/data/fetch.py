"""Locate, verify and download the pinned corpus files (scikit-learn's ``fetch_*`` convention).

Corpora live in one **data home** per user: ``$SOCINF_DATA``, else the
platform's user data dir (``platformdirs``), else ``~/socinf_data``. Its layout
is that of a local copy such as ``../shared/data`` (``<home>/emoint/...``,
``<home>/weibo-smp2020-ewect/...``: the folder names of ``registry.py``), so one
folder serves both. A read-only local copy (``data.dir`` / ``SOCINF_DATA_DIR``)
wins over the home when set. Missing files are downloaded into the home from
their commit-pinned URLs with ``pooch`` (retries; a temporary file renamed only
once its SHA-256 matches).

Every file a run reads is hashed against its pinned SHA-256 on every load: the
whole Weibo corpus (7.9 MB, the largest) hashes in ~0.08 s, so no sidecar of
"already verified" files is kept; an edited file with its old size and times is
caught like any other.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from socinf.data.registry import CorpusFiles, PinnedFile, corpus_files
from socinf.errors import DataError
from socinf.io import file_mode, storage_error

_CHUNK = 1 << 20
_TIMEOUT_S = 60
_RETRIES = 2  # pooch waits 1 s, then 2 s between attempts


def data_home() -> Path:
    """The per-user data home: ``$SOCINF_DATA``, else the platform's user data dir, else ``~/socinf_data``."""
    env = os.environ.get("SOCINF_DATA")
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_data_dir
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / "socinf_data"
    return Path(user_data_dir("socinf", appauthor=False))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class FileStatus:
    pinned: PinnedFile
    path: Path
    status: str  # "ok" | "missing" | "bad"
    actual: str | None = None  # the SHA-256 found, when "bad"


def check_folder(corpus: str, folder: Path) -> list[FileStatus]:
    """Every pinned file of ``corpus`` in ``folder``, hashed now."""
    rows = []
    for pinned in corpus_files(corpus).files:
        path = Path(folder) / pinned.name
        if not path.is_file():
            rows.append(FileStatus(pinned, path, "missing"))
            continue
        actual = sha256_file(path)
        rows.append(FileStatus(pinned, path, "ok" if actual == pinned.sha256 else "bad", actual))
    return rows


def corpus_folder(corpus: str, data_dir: str | None, home: str | Path) -> Path:
    """Where ``corpus`` is read from: ``<data_dir>/<folder>`` when a local copy is set, else ``<home>/<folder>``."""
    return Path(data_dir if data_dir else home) / corpus_files(corpus).folder


def _problem(row: FileStatus) -> str:
    if row.status == "missing":
        return f"missing file {row.path} (expected SHA-256 {row.pinned.sha256})"
    return f"{row.path} has SHA-256 {row.actual}, expected {row.pinned.sha256}"


def _advice(spec: CorpusFiles, pinned: PinnedFile, data_dir: str | None, home: Path) -> str:
    if data_dir:
        return (f"restore {spec.folder}/{pinned.name} in data.dir / SOCINF_DATA_DIR={data_dir}, or unset "
                f"SOCINF_DATA_DIR and run 'socinf data fetch {spec.corpus}' (downloads into the data home {home})")
    return (f"run 'socinf data fetch {spec.corpus}' (downloads into {home}; data.download_if_missing=true does it "
            f"on demand) or point data.dir= / SOCINF_DATA_DIR at a folder holding {spec.folder}/{pinned.name}")


def resolve_corpus_dir(corpus: str, data_dir: str | None, home: str | Path, download: bool = False,
                       url_base: str | None = None, progress: bool = False) -> Path:
    """Folder holding ``corpus``'s files, every file hashed now against its pinned SHA-256.

    ``data_dir`` (``data.dir``, usually ``$SOCINF_DATA_DIR``) is a read-only local copy: files are read
    from ``<data_dir>/<folder>/`` and never downloaded there. Otherwise from ``<home>/<folder>/``; with
    ``download`` the missing or wrong files are fetched there first.
    """
    spec, home = corpus_files(corpus), Path(home)
    folder = corpus_folder(corpus, data_dir, home)
    bad = [r for r in check_folder(corpus, folder) if r.status != "ok"]
    if bad and download and not data_dir:
        return fetch(corpus, home, url_base=url_base, progress=progress)
    if bad:
        raise DataError(f"{corpus}: {_problem(bad[0])}; {_advice(spec, bad[0].pinned, data_dir, home)}")
    return folder


# ------------------------------------------------------------------------------------------- downloads

class _RichBar:
    """The progress-bar object pooch drives (``total``, ``update``, ``reset``, ``close``) as a rich task."""

    def __init__(self, bar, description: str):
        self.bar, self.task = bar, bar.add_task(description, total=None)

    @property
    def total(self):
        return self.bar.tasks[self.task].total

    @total.setter
    def total(self, value: int) -> None:
        self.bar.update(self.task, total=value or None)

    def update(self, n: int) -> None:
        self.bar.advance(self.task, n)

    def reset(self) -> None:
        self.bar.reset(self.task, total=self.total)

    def close(self) -> None:
        pass


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    console=Console(stderr=True), disable=not enabled, transient=True)


def _reason(exc: Exception) -> str:
    """A short reason for a failed download (requests' messages nest several reprs)."""
    text = str(exc)
    if getattr(exc, "response", None) is not None:  # HTTPError
        return f"HTTP {exc.response.status_code} {exc.response.reason}"
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if found:
        return found.group(1).strip()
    return "timed out" if "timed out" in text.lower() else text.splitlines()[0][:200] if text else type(exc).__name__


class _TooLong(Exception):
    """A download past its pinned size."""


class _Capped:
    """The file pooch streams a download into, refusing bytes past the pinned size (``_TooLong``)."""

    def __init__(self, fh, size: int):
        self.fh, self.size, self.written = fh, size, 0

    def write(self, chunk: bytes) -> None:
        self.written += len(chunk)
        if self.written > self.size:
            raise _TooLong()
        self.fh.write(chunk)

    def flush(self) -> None:
        self.fh.flush()


def _capped(downloader, size: int):
    """``downloader`` (pooch's) writing through ``_Capped`` into the temporary file pooch names."""

    def download(source_url, output_file, pup, check_only=False):
        if check_only:
            return downloader(source_url, output_file, pup, check_only=True)
        with open(output_file, "w+b") as fh:
            return downloader(source_url, _Capped(fh, size), pup)

    return download


def _download(spec: CorpusFiles, pinned: PinnedFile, folder: Path, url: str, bar) -> None:
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")  # its "Downloading file ..." lines: the progress bar says it
    pup = pooch.create(path=folder, base_url="", registry={pinned.name: f"sha256:{pinned.sha256}"},
                       urls={pinned.name: url}, retry_if_failed=_RETRIES)
    bar_obj = _RichBar(bar, f"{spec.corpus}: {pinned.name}") if not bar.disable else False
    downloader = pooch.HTTPDownloader(progressbar=bar_obj, timeout=_TIMEOUT_S, chunk_size=1 << 16)
    alt = f"point data.dir= / SOCINF_DATA_DIR at a folder holding {spec.folder}/{pinned.name}"
    try:
        path = pup.fetch(pinned.name, downloader=_capped(downloader, pinned.size))
        os.chmod(path, file_mode())  # pooch's temporary file was private (0600)
    except requests.exceptions.RequestException as exc:
        raise DataError(f"{spec.corpus}: cannot download {pinned.name} from {url}: {_reason(exc)}; check the "
                        f"network or data.url_base, or {alt} (SHA-256 {pinned.sha256})") from None
    except _TooLong:  # pooch removed its temporary file
        raise DataError(f"{spec.corpus}: {pinned.name} from {url} sends more than its pinned {pinned.size} bytes; "
                        f"stopped there; check data.url_base, or {alt} (SHA-256 {pinned.sha256})") from None
    except OSError as exc:  # the data home is full, read-only or not ours: pooch removed its temporary file
        raise storage_error(exc, folder / pinned.name) or exc from None
    except ValueError as exc:  # pooch: hash mismatch (the temporary file is already deleted)
        got = re.search(r"\(([0-9a-f]{64})\)", str(exc))
        raise DataError(f"{spec.corpus}: {pinned.name} downloaded from {url} has SHA-256 "
                        f"{got.group(1) if got else '?'}, expected {pinned.sha256}; {alt}") from None


def fetch(corpus: str, home: str | Path, url_base: str | None = None, progress: bool = True) -> Path:
    """Download ``corpus``'s missing or wrong files into ``<home>/<folder>/``; returns that folder.

    Files already present with the right hash are not downloaded again. ``url_base``
    (``data.url_base``) replaces each pinned URL by ``<url_base>/<folder>/<name>`` for
    mirrors and tests; the pinned hash is checked either way.
    """
    spec = corpus_files(corpus)
    folder = corpus_folder(corpus, None, home)
    todo = [r.pinned for r in check_folder(corpus, folder) if r.status != "ok"]
    if not todo:
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{corpus}: cannot create {folder}: {exc.strerror}; set SOCINF_DATA (or data.root=) "
                        "to a writable folder") from None
    with _progress(progress and sys.stderr.isatty()) as bar:
        for pinned in todo:
            url = f"{url_base.rstrip('/')}/{spec.folder}/{pinned.name}" if url_base else pinned.url
            _download(spec, pinned, folder, url, bar)
    return folder
