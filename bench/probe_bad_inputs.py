"""Probe of issues #11, #19 and #20: send every bad input and fault on their lists, and count what happens.

    PYTHONPATH=. .venv/bin/python bench/probe_bad_inputs.py [cli] [server] [budget] [library] [runs] [disk] [files]
    (default: all; `disk` mounts tmpfs file systems and needs root)

1. CLI (``probe_cli``): bad config values, hyper-parameters, CSV tables, secrets on the command line, a corrupt
   query cache, planted stage-cache files, each a real `socinf run`.
2. Server (``probe_server``): real `socinf serve` processes: big and hostile bodies, key guessing, a half-open
   connection, a replayed key; a concurrent Idempotency-Key burst, 1e300 to a CSV model, idle connections.
3. Budget (``probe_budget``): a billing HTTP server: slow, lying, constant; other spellings of its URL; a 300 MB
   answer; a server echoing the key.
4. Library (``probe_library``, issue 19): ``socinf.audit`` and the attack classes on real Tweet(4) slices.
5. Runs (``probe_runs``): reruns into completed dirs, API keys with stray whitespace, kill -9 of a sweep
   worker, `socinf export`, split settings, a tiny evaluation set.
6. Disk (``probe_disk``): full and read-only tmpfs under the run dir, stage cache, ledger and data home.
7. Files (``probe_files``): hostile files under `socinf report`; texts and labels under `socinf run`.

Every run has SOCINF_API_KEY set; at the end every file under the probe's dirs is searched for it. Prints the
counts issue 20 asks for: tracebacks, silent wrong results, records billed beyond a budget, completed results
lost, files holding the key. Cases of items other helpers own (issue 21: --help, issue 24: tiny-n metrics) are
printed apart, not counted.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from probe_common import KEY, TALLY, key_occurrences  # noqa: E402

SECTIONS = ("cli", "server", "budget", "library", "runs", "disk", "files")


def main(sections: list[str]) -> None:
    sections = sections or list(SECTIONS)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise SystemExit(f"probe: unknown section {unknown[0]!r}; expected some of {', '.join(SECTIONS)}")
    if "disk" in sections and os.geteuid() != 0:
        raise SystemExit("probe: the disk section mounts tmpfs file systems: run it as root")
    server, beyond, peak = {}, 0, float("nan")
    with tempfile.TemporaryDirectory(prefix="socinf-probe-") as name:
        tmp = Path(name)
        if "cli" in sections:
            from probe_cli import probe_cli
            probe_cli(_dir(tmp / "cli"))
        if "server" in sections:
            from probe_server import probe_server
            server = probe_server(_dir(tmp / "server"))
        if "budget" in sections:
            from probe_budget import probe_budget
            beyond = probe_budget(_dir(tmp / "budget"))
        if "library" in sections:
            from probe_library import probe_library
            probe_library(TALLY.kinds)
        if "runs" in sections:
            from probe_runs import probe_runs
            probe_runs(_dir(tmp / "runs"))
        if "disk" in sections:
            from probe_disk import probe_disk
            probe_disk(_dir(tmp / "disk"))
        if "files" in sections:
            from probe_files import probe_files
            peak = probe_files(_dir(tmp / "files"))
        holding = key_occurrences(tmp)
    _summary(server, beyond, peak, holding)


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _summary(server: dict, beyond: int, peak: float, holding: list[str]) -> None:
    k = TALLY.kinds
    print(f"\noutcomes: {k}")
    if TALLY.others:
        print("cases of items other helpers own (not counted above):")
        print("\n".join(TALLY.others))
    if holding:
        print(f"files holding the API key ({KEY[:6]}...):\n  " + "\n  ".join(holding[:20]))
    print(f"tracebacks {k['traceback']}, silent wrong results {k['silent']}, records billed beyond budget {beyond}, "
          f"completed results lost {TALLY.results_lost}, files holding the API key {len(holding)}")
    if server:
        print(f"server: RSS {server['rss idle MB']:.0f} MB idle, {server['rss peak MB']:.0f} MB peak under a "
              f"{server['body MB']:.0f} MB body; /healthz meanwhile p50 {server['healthz p50 ms']:.1f} ms, max "
              f"{server['healthz max ms']:.1f} ms; p99 {server['healthz p99 ms (64 idle)']:.1f} ms while 64 idle "
              f"connections were held ({server['healthz p99 ms (300 idle)']:.1f} ms with 300)")
    if peak == peak:
        print(f"report over hostile files (a 100 MB metrics.json among them): peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
