"""Benchmark of `socinf run method=lira` (offline, 16 reference models): wall time, target queries, peak RSS.

Each cell runs in a fresh subprocess with the stage cache off, so the target and all 16 references are
trained; peak RSS is the child's own (os.wait4 resource usage). Goal on a 2-core machine: <= 30 s per cell.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CELLS = {
    "tweet(4) / xgboost": ["dataset=tweet", "target=xgboost", "method=lira"],
    # one level of `experiment=overfitting` as a single run (no -m: the experiment's sweep is not expanded)
    "overfitting xgboost_4": ["experiment=overfitting", "+experiment/overfit=xgboost_4", "method=lira"],
}
GOAL_S = 30.0


def bench_one(overrides: list[str], workdir: Path) -> dict:
    run_dir = workdir / "run"
    log = workdir / "stderr.txt"
    started = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "socinf_cli", "run", *overrides, "method.n_references=16",
                                 "threads=1", "cache.enabled=false", f"hydra.run.dir={run_dir}",
                                 f"data.root={workdir / 'data'}"], stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark run failed: {' '.join(overrides)}\n{log.read_text()[-2000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_kib": usage.ru_maxrss, "metrics": metrics}


def main() -> None:
    if not os.environ.get("SOCINF_DATA_DIR"):
        default = Path(__file__).resolve().parents[2] / "shared" / "data"
        if default.is_dir():
            os.environ["SOCINF_DATA_DIR"] = str(default)
    print(f"socinf run method=lira benchmark (16 offline references, stage cache off; goal <= {GOAL_S:.0f} s per cell)")
    for name, overrides in CELLS.items():
        with tempfile.TemporaryDirectory() as tmp:
            out = bench_one(overrides, Path(tmp))
        m = out["metrics"]
        q = m["queries"]
        t = m["timings_s"]
        stages = ", ".join(f"{s} {v['sent']}" for s, v in q["per_stage"].items() if v["sent"])
        print(f"{name:24s} wall {out['wall']:6.1f} s (cpu {out['cpu']:.1f} s, in-run {t['total']:.1f} s: references "
              f"{t.get('references', 0):.1f} s)  peak RSS {out['peak_kib'] / 1024:.0f} MiB  "
              f"target queries {q['sent']} ({stages})")
        r = m["method"]["lira"]
        print(f"{'':24s} AUC {m['attack']['auc']:.3f}  TPR@1%FPR {m['attack']['tpr_at_1pct_fpr']:.3f}  "
              f"reference size {r['reference_size']} of {r['pool_records']} attacker records (target {r['target_size']})")


if __name__ == "__main__":
    main()
