"""Issue 20 (Why 4, 5): a full or read-only disk under the run dir, the stage cache, the data home and the
budget ledger. Each case mounts a real tmpfs (small, or read-only; the tests run as root, as CI does) and runs
the real command or the real ledger: one line naming the path and the cause, exit 2, nothing partial left, and
a ledger on a full disk is never called corrupt (following that advice would reset the budget)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from loopback import Endless, LoopbackHTTP
from socinf_runner import socinf

SMALL = ["dataset.per_class=150", "eval.size=60", "synthesis.n_records=300", "synthesis.burn_in=30", "mimic.epochs=3",
         "method.baselines=false", "threads=1", "target=logistic"]


@pytest.fixture
def mount(tmp_path):
    """``mount(name, size, read_only=False)`` -> a fresh tmpfs of ``size`` at tmp_path/name, unmounted after."""
    if os.geteuid() != 0:
        pytest.fail("these tests mount a tmpfs (a real full or read-only file system): run them as root, as CI does")
    mounted: list[Path] = []

    def make(name: str, size: str, read_only: bool = False) -> Path:
        point = tmp_path / name
        point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}" + (",ro" if read_only else ""), "tmpfs",
                        str(point)], check=True)
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _one_line(proc, *expected: str) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("socinf: error: ") and all(e in last for e in expected), last
    return last


def _leftovers(root: Path) -> list[str]:
    """Half-written files: temporaries, and stage-cache arrays without the metadata that commits them."""
    found = [p for p in root.rglob("*.tmp*")]
    found += [p for p in root.rglob("*.npz") if not p.with_suffix(".json").exists()]
    return sorted(str(p) for p in found)


def test_a_full_or_read_only_run_dir_is_one_line(tmp_path, shared_data_dir, mount):
    full, read_only = mount("full", "100k"), mount("ro", "1m", read_only=True)
    for point, cause in ((full, "no space left on the device"), (read_only, "read-only file system")):
        proc = socinf(["run", *SMALL, f"hydra.run.dir={point / 'run'}", f"data.root={tmp_path / 'data'}"], tmp_path,
                      shared_data_dir)
        _one_line(proc, str(point / "run"), cause)
        assert not (point / "run").exists()


def test_a_full_or_read_only_data_root_is_one_line_and_leaves_no_half_entry(tmp_path, shared_data_dir, mount):
    """The stage cache under data.root: full while the synthesis stage is saved, and read-only when a stage
    must be computed (a read-only data.root whose stages are all cached would be fine)."""
    full, read_only = mount("full", "200k"), mount("ro", "1m", read_only=True)
    proc = socinf(["run", *SMALL, f"hydra.run.dir={tmp_path / 'a'}", f"data.root={full / 'data'}"], tmp_path,
                  shared_data_dir)
    _one_line(proc, str(full / "data" / "cache" / "stages"), "no space left on the device")
    assert _leftovers(full) == [] and not (tmp_path / "a").exists()
    proc = socinf(["run", *SMALL, f"hydra.run.dir={tmp_path / 'b'}", f"data.root={read_only / 'data'}"], tmp_path,
                  shared_data_dir)
    _one_line(proc, str(read_only / "data"), "read-only file system")


def test_a_full_or_read_only_ledger_is_not_called_corrupt(mount):
    """The review's case: "not a usable query cache (database or disk is full); delete the file (its answers and
    budget ledger are lost)" while PRAGMA integrity_check said ok. Now a StorageError that keeps the file."""
    from socinf.errors import StorageError
    from socinf.targets.query_cache import QueryCache, record_keys

    disk = mount("ledger", "300k")
    path = disk / "queries.sqlite"
    rng = np.random.default_rng(0)
    with QueryCache(path) as db:
        assert db.charge("http://127.0.0.1:80|m", 1000, 5000) == (True, 0)
        with pytest.raises(StorageError) as err:
            for _ in range(1000):
                X = rng.random((200, 50))
                db.put_many("http://127.0.0.1:80", "m", record_keys(X), rng.random((200, 50)))
    message = str(err.value)
    assert "no space left on the device" in message and "delete the file" not in message, message
    assert str(path) in message and "intact" in message
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    with pytest.raises(StorageError, match="read-only") as err:
        with QueryCache(path) as db:  # opening may succeed (reads need no write) ...
            db.charge("http://127.0.0.1:80|m", 10, 5000)  # ... booking a batch cannot
    assert "delete the file" not in str(err.value)
    subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
    with QueryCache(path) as db:
        assert db.spent("http://127.0.0.1:80|m") == 1000  # the budget ledger survived both


def test_a_download_stops_at_the_pinned_size_and_a_full_data_home_is_one_line(tmp_path, mount, monkeypatch):
    """A mirror that never ends filled the data home and died with ENOSPC: downloads had no size limit."""
    import socinf.data.fetch as fetch_mod
    from socinf.errors import DataError, StorageError

    monkeypatch.setattr(fetch_mod, "_RETRIES", 0)

    mirror = LoopbackHTTP(Endless)
    try:
        home = mount("home", "20m")
        with pytest.raises(DataError, match=r"sends more than its pinned 733317 bytes"):
            fetch_mod.fetch("clue", home, url_base=mirror.url, progress=False)
        assert [p.name for p in (home / "clue-emotion").iterdir()] == []  # nothing left of it
        small = mount("small", "300k")
        with pytest.raises(StorageError, match=r"no space left on the device") as err:
            fetch_mod.fetch("clue", small, url_base=mirror.url, progress=False)
        assert str(small / "clue-emotion") in str(err.value)
        assert [p.name for p in (small / "clue-emotion").iterdir()] == []
    finally:
        mirror.close()
