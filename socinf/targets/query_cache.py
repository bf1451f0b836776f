"""Persistent answers of a paid prediction API, and the budget ledger: a record is paid for once, ever.

One SQLite file (``<data.root>/cache/queries.sqlite``). Table ``answers`` is
keyed by the normalised endpoint (``normalise_url``), model id and a hash of
the record's bytes. Each batch is committed as soon as it is answered, so a
run killed mid-way keeps everything it paid for and a rerun (or another job of
a sweep, WAL mode) reads it back instead of paying again.

Table ``budget`` holds the records sent per scope (``target.budget_scope``:
one endpoint + model, or one run dir of it). ``charge`` books a batch in one
``BEGIN IMMEDIATE`` transaction *before* it is sent, so parallel processes,
reruns and resumes share one total and a batch whose answer was lost stays
charged.
"""
from __future__ import annotations

import hashlib
import ipaddress
import os
import posixpath
import socket
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import urlsplit

import numpy as np

from socinf.errors import ConfigError, SocinfError, StorageError
from socinf.io import storage_error

_SCHEMA = """CREATE TABLE IF NOT EXISTS answers (
    endpoint TEXT NOT NULL, model_id TEXT NOT NULL, record BLOB NOT NULL, probs BLOB NOT NULL,
    PRIMARY KEY (endpoint, model_id, record)) WITHOUT ROWID"""
_BUDGET = "CREATE TABLE IF NOT EXISTS budget (scope TEXT PRIMARY KEY, records INTEGER NOT NULL)"
_CHUNK = 500  # host parameters per IN (...) lookup, under SQLite's limit


WIDE = 4096  # records wider than this are keyed by their non-zeros (hashing d float64 a record would cost more)


def record_keys(X) -> list[bytes]:
    """A 16-byte digest per record, the same for a record dense or sparse: of its float64 bytes (as every
    cache before sparse records, so their answers stay found), or for records wider than ``WIDE`` features (all
    of an endpoint's, since its width is fixed) of its non-zero columns and values."""
    from socinf.sparse import as_csr, dense_batches, is_sparse, to_format

    if X.shape[1] <= WIDE:
        blocks = dense_batches(X, dtype=np.float64) if is_sparse(X) else [np.ascontiguousarray(X, dtype=np.float64)]
        return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for block in blocks for row in block]
    X = as_csr(to_format(X, True), np.float64)
    return [hashlib.blake2b(X.indices[X.indptr[i]:X.indptr[i + 1]].astype(np.int64).tobytes() +
                            X.data[X.indptr[i]:X.indptr[i + 1]].tobytes(), digest_size=16).digest()
            for i in range(X.shape[0])]



_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _host(host: str) -> str:
    """One spelling per host: an IP literal in any form the resolver accepts (``127.1``, ``2130706433``,
    ``0x7f000001``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``) as its canonical address, any loopback address or
    name (and ``0.0.0.0`` / ``::``, which connect to this machine) as ``127.0.0.1``, a name lower-cased without
    its trailing dot."""
    host = host.lower().rstrip(".")
    if host in _LOOPBACK_NAMES:
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone (%eth0) is not the host
    except ValueError:
        try:  # the resolver's legacy IPv4 forms (inet_aton): shortened, decimal, hex and octal parts
            address = ipaddress.ip_address(socket.inet_aton(host)) if host else None
        except OSError:
            address = None
    if address is None:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return "127.0.0.1"
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def _path(path: str) -> str:
    """``/a/./b//c/`` -> ``/a/b/c``; dot segments and repeated or trailing slashes name the same resource."""
    if not path.strip("/."):
        return ""
    normal = posixpath.normpath("/" + path.lstrip("/"))
    return "" if normal == "/" else normal


def normalise_url(url: str) -> str:
    """One spelling per endpoint, so a budget follows the server and not how its URL is written: scheme and host
    lower-cased, the host as ``_host`` spells it, the port explicit, no user info, query or fragment, the path
    without dot segments and trailing slashes (``HTTP://LocalHost./`` -> ``http://127.0.0.1:80``). Other
    strings pass unchanged."""
    parts = urlsplit(str(url).strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return str(url).rstrip("/")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:  # a port that is not a number: leave the URL as written
        return str(url).rstrip("/")
    try:
        host = _host(parts.hostname)
    except UnicodeError:
        host = parts.hostname.lower()
    return f"{scheme}://{host}:{port}{_path(parts.path)}"


_STORAGE_CODES = {13: "no space left on the device (SQLITE_FULL)", 8: "the file is read-only (SQLITE_READONLY)",
                  14: "it cannot be opened for writing (SQLITE_CANTOPEN)", 10: "a disk I/O error (SQLITE_IOERR)"}
_DAMAGE_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB: only these may mean a damaged file


def _why_unwritable(path: Path) -> str:
    """What the file system says about ``path``'s folder: read-only, not writable, full, or nothing."""
    folder = path.parent
    try:
        stat = os.statvfs(folder)
    except OSError:
        return ""
    if stat.f_flag & os.ST_RDONLY:
        return "; its file system is mounted read-only"
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "; permission denied"
    if stat.f_bavail * stat.f_frsize < 1024 * 1024:
        return "; its file system is full"
    return ""


def _intact(path: Path) -> bool | None:
    """``PRAGMA integrity_check`` on a read-only connection: True ok, False damaged, None could not run it."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return False if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _DAMAGE_CODES else None


def ledger_problem(path: Path, exc: sqlite3.DatabaseError) -> SocinfError:
    """The one line for a query-cache failure. "Corrupt" only when SQLite's own integrity check says so: a full
    or read-only disk is a StorageError whose advice keeps the file (it holds the answers paid for and the
    budget ledger; deleting it would reset the budget)."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    keep = "the file is kept as it is (its answers and budget ledger are intact)"
    if code in _STORAGE_CODES:
        return StorageError(f"{path}: the query cache and budget ledger cannot be written: {_STORAGE_CODES[code]}"
                            f"{_why_unwritable(path)}; {keep}; free space or make it writable, or point data.root "
                            "elsewhere (a new ledger starts its budget count from zero)")
    intact = _intact(path) if code in _DAMAGE_CODES else None
    if intact is False:
        return ConfigError(f"{path}: not a usable query cache (SQLite: {exc}; PRAGMA integrity_check fails); "
                           "delete the file (its answers and budget ledger are lost) or point data.root elsewhere")
    return StorageError(f"{path}: the query cache failed (SQLite: {exc}{_why_unwritable(path)}); "
                        f"{'PRAGMA integrity_check says the file is intact; ' if intact else ''}{keep}")


def _usable(method):
    """A query-cache operation that fails ends in one line (``ledger_problem``); another job holding the lock
    past the timeout is not a failure of the file and is raised as it is."""

    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise
            raise ledger_problem(self.path, exc) from None
        except OSError as exc:
            raise storage_error(exc, self.path) or exc from None

    return wrapper


class QueryCache:
    @_usable
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")  # readers and a writer from parallel sweep jobs
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable at each commit in WAL, without an fsync per batch
        self._db.execute(_SCHEMA)
        self._db.execute(_BUDGET)
        self._db.commit()

    @_usable
    def spent(self, scope: str) -> int:
        row = self._db.execute("SELECT records FROM budget WHERE scope=?", (scope,)).fetchone()
        return int(row[0]) if row else 0

    @_usable
    def charge(self, scope: str, n: int, limit: int | None) -> tuple[bool, int]:
        """Book ``n`` records to ``scope`` unless that would pass ``limit``: (booked, records spent before)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # one writer at a time across processes: no two jobs pass the same gap
        try:
            spent = self.spent(scope)
            if limit is not None and spent + n > limit:
                db.execute("ROLLBACK")
                return False, spent
            db.execute("INSERT INTO budget VALUES (?, ?) ON CONFLICT(scope) DO UPDATE SET records=records+?",
                       (scope, n, n))
            db.execute("COMMIT")
            return True, spent
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @_usable
    def get_many(self, endpoint: str, model_id: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start:start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT record, probs FROM answers WHERE endpoint=? AND model_id=? AND record IN ({marks})",
                [endpoint, model_id, *chunk])
            found.update((record, np.frombuffer(probs, dtype=np.float64)) for record, probs in rows)
        return found

    @_usable
    def put_many(self, endpoint: str, model_id: str, keys: Iterable[bytes], probs: np.ndarray) -> None:
        """Store one answered batch and commit it (what was paid for survives a kill right after)."""
        rows = [(endpoint, model_id, key, np.asarray(p, dtype=np.float64).tobytes()) for key, p in zip(keys, probs)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)", rows)

    @_usable
    def count(self, endpoint: str | None = None, model_id: str | None = None) -> int:
        query, args = "SELECT COUNT(*) FROM answers WHERE 1=1", []
        for column, value in (("endpoint", endpoint), ("model_id", model_id)):
            if value is not None:
                query += f" AND {column}=?"
                args.append(value)
        return int(self._db.execute(query, args).fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "QueryCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
