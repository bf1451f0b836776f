"""Benchmark of `socinf run` with default settings: wall time per stage, total, peak RSS.

Runs each configuration in a fresh subprocess with the stage cache off, so every
stage is computed, and reads the figures from the run's metrics.json and the
child's resource usage. Goal on a 2-core machine: under 60 s and 1.5 GiB per run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = {
    "tweet / xgboost": ["dataset=tweet", "target=xgboost"],
    "weibo(5) / logistic": ["dataset=weibo", "dataset.num_classes=5", "target=logistic"],
}


def bench_one(overrides: list[str], workdir: Path) -> dict:
    run_dir = workdir / "run"
    started = time.perf_counter()
    log = workdir / "stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "socinf_cli", "run", *overrides, "cache.enabled=false",
                                 f"hydra.run.dir={run_dir}", f"data.root={workdir / 'data'}"],
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS, not the max over all children
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark run failed: {' '.join(overrides)}\n{log.read_text()[-2000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"wall": wall, "stages": metrics["timings_s"], "attack": metrics["attack"], "peak_kib": usage.ru_maxrss}


def main() -> None:
    if not os.environ.get("SOCINF_DATA_DIR"):
        default = Path(__file__).resolve().parents[2] / "shared" / "data"
        if default.is_dir():
            os.environ["SOCINF_DATA_DIR"] = str(default)
    print("socinf run benchmark (defaults, stage cache off; process wall time includes interpreter start-up)")
    for name, overrides in RUNS.items():
        with tempfile.TemporaryDirectory() as tmp:
            out = bench_one(overrides, Path(tmp))
            peak_kib = out["peak_kib"]
        stages = "  ".join(f"{k}={v:.2f}s" for k, v in out["stages"].items() if k != "total")
        print(f"{name:22s} wall {out['wall']:6.1f} s  (in-run total {out['stages']['total']:.1f} s)  "
              f"peak RSS {peak_kib / 1024 / 1024:.2f} GiB  goal <60 s, <1.5 GiB")
        print(f"{'':22s} {stages}")
        print(f"{'':22s} attack accuracy {out['attack']['accuracy']:.4f}  AUC {out['attack']['auc']:.4f}")


if __name__ == "__main__":
    main()
