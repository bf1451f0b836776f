"""Section 5 of ``bench/probe_bad_inputs.py`` (issue 20, Why 4 and 5): real small or read-only tmpfs mounts (root)
under the run dir, the stage cache, the data home and the budget ledger, a disk filled while a rerun writes its
result, and a corpus mirror that never ends."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from probe_common import ROOT, SMALL, TALLY, classify, env, library_case, mount_tmpfs, socinf, unmount

RUN = [*SMALL, "target=logistic"]


def _leftovers(root: Path) -> list[str]:
    found = list(root.rglob("*.tmp*")) + [p for p in root.rglob("*.npz") if not p.with_suffix(".json").exists()]
    return [str(p) for p in found] + [str(p) for p in root.rglob(".staged")]


def probe_run_dirs(tmp: Path, disks: list[Path]) -> None:
    full, ro = mount_tmpfs(tmp / "full", "100k"), mount_tmpfs(tmp / "ro", "1m", read_only=True)
    disks += [full, ro]
    classify("case 5: run dir on a full disk", socinf(["run", *RUN, f"hydra.run.dir={full / 'r'}",
                                                       f"data.root={tmp / 'data'}"], tmp))
    classify("case 5: read-only run dir", socinf(["run", *RUN, f"hydra.run.dir={ro / 'r'}", f"data.root={tmp / 'data'}"],
                                                 tmp))
    classify("relative: a sweep dir on a read-only disk", socinf(["run", "-m", *RUN, "seed=0,1",
                                                                  f"hydra.sweep.dir={ro / 's'}"], tmp))
    cache_full = mount_tmpfs(tmp / "cache-full", "200k")
    disks.append(cache_full)
    classify("case 5: stage cache on a full disk", socinf(["run", *RUN, f"hydra.run.dir={tmp / 'r1'}",
                                                           f"data.root={cache_full / 'data'}"], tmp))
    classify("case 5: read-only data.root, a stage to compute", socinf(["run", *RUN, f"hydra.run.dir={tmp / 'r2'}",
                                                                        f"data.root={ro / 'data'}"], tmp))
    if _leftovers(cache_full):
        TALLY.record("silent", "  ... half-written files left", ", ".join(_leftovers(cache_full))[:120])


def probe_filled_during_rerun(tmp: Path, disks: list[Path]) -> None:
    """Relative: a rerun into a completed dir whose disk fills up while it runs: one line, the result kept."""
    disk = mount_tmpfs(tmp / "fills", "2m")
    disks.append(disk)
    run = disk / "run"
    socinf(["run", *RUN, f"hydra.run.dir={run}", f"data.root={tmp / 'data'}"], tmp)
    kept = {n: (run / n).read_bytes() for n in ("metrics.json", "membership_scores.csv", "job.json")}
    rerun = subprocess.Popen([sys.executable, "-m", "socinf_cli", "run", *RUN, "seed=5", f"hydra.run.dir={run}",
                              f"data.root={tmp / 'data'}"], cwd=tmp, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    while not (run / ".running.json").exists() and rerun.poll() is None:
        time.sleep(0.02)
    subprocess.run(["dd", "if=/dev/zero", f"of={disk / 'filler'}", "bs=64k"], capture_output=True)  # until full
    out, err = rerun.communicate(timeout=600)
    classify("relative: the run dir fills up during a rerun", subprocess.CompletedProcess([], rerun.returncode, out, err))
    TALLY.lost(int(any((run / n).read_bytes() != b for n, b in kept.items())), "a rerun on a disk that filled up")
    (disk / "filler").unlink()


def probe_ledger(tmp: Path, disks: list[Path]) -> None:
    """Case 4: the ledger's disk full, then read-only: never "corrupt", never "delete the file"."""
    from socinf.errors import StorageError
    from socinf.targets.query_cache import QueryCache, record_keys

    disk = mount_tmpfs(tmp / "ledger", "300k")
    disks.append(disk)
    path, rng = disk / "queries.sqlite", np.random.default_rng(0)
    with QueryCache(path) as db:
        db.charge("http://127.0.0.1:80|m", 1412, 1500)

        def fill():
            for _ in range(1000):
                X = rng.random((200, 50))
                db.put_many("http://127.0.0.1:80", "m", record_keys(X), rng.random((200, 50)))

        kind, message = library_case("case 4: the ledger's disk is full", fill)
    if "delete the file" in message or "not a usable" in message:
        TALLY.record("silent", "  ... a full disk is called a damaged ledger", message)
    check = sqlite3.connect(path)
    intact = check.execute("PRAGMA integrity_check").fetchone()[0]
    check.close()  # an open file keeps the mount from going read-only
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)

    def charge_read_only():
        with QueryCache(path) as db:
            db.charge("http://127.0.0.1:80|m", 10, 1500)

    library_case("case 4: the ledger's disk is read-only", charge_read_only)
    subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
    with QueryCache(path) as db:
        spent = db.spent("http://127.0.0.1:80|m")
    TALLY.record("ok" if spent == 1412 and intact == "ok" and kind == "one line" else "silent",
                 "  ... integrity_check and the budget afterwards", f"integrity {intact}, spent {spent} of 1500")


def probe_downloads(tmp: Path, disks: list[Path]) -> None:
    """Case 5: a mirror that never ends (into a roomy and into a full data home); relative: read-only home."""
    import socinf.data.fetch as fetch_mod

    sys.path.insert(0, str(ROOT / "tests"))
    from loopback import Endless, LoopbackHTTP

    mirror = LoopbackHTTP(Endless)
    url = mirror.url
    fetch_mod._RETRIES = 0
    roomy, small = mount_tmpfs(tmp / "home", "50m"), mount_tmpfs(tmp / "home-small", "300k")
    ro = mount_tmpfs(tmp / "home-ro", "1m", read_only=True)
    disks += [roomy, small, ro]
    for name, home in (("case 5: a mirror that never ends", roomy), ("case 5: ... into a full data home", small),
                       ("relative: a read-only data home", ro)):
        library_case(name, lambda home=home: fetch_mod.fetch("clue", home, url_base=url, progress=False))
        left = [p for p in home.rglob("*") if p.is_file()]
        if left:
            TALLY.record("silent", "  ... left behind", ", ".join(map(str, left))[:120])
    mirror.close()


def probe_disk(tmp: Path) -> None:
    print("5. file systems (real tmpfs mounts: full, read-only)")
    disks: list[Path] = []
    try:
        probe_run_dirs(tmp, disks)
        probe_filled_during_rerun(tmp, disks)
        probe_ledger(tmp, disks)
        probe_downloads(tmp, disks)
    finally:
        for disk in disks:
            unmount(disk)
