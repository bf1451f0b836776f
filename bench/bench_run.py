"""Benchmarks of `socinf run`: the stages of one run, and issue 22's speed figures.

Every command is launched as a user launches it, through the `socinf` entry point beside this Python, with
PYTHONPATH set to the tree under test (this checkout, or ``--base DIR`` for the old code), so both trees are
timed the same way (the launch method and call depth move CPython's frame-stack allocations: README). Wall
times include interpreter start-up; peak RSS is the command's own process.

1. stages (always): `socinf run` on Tweet(4)/XGBoost and Weibo(5)/logistic with the stage cache off: wall time
   per stage, total, peak RSS. Goal on 2 cores: < 60 s and < 1.5 GiB per run.
2. default run (always; ``--base DIR`` adds the ratio): `socinf run dataset=tweet target=xgboost
   cache.enabled=false`, ``--runs`` times after one warm-up, this tree and DIR alternating (A B A B ...).
   Goal: median <= 4.0 s on a quiet machine, and the median of the pair-by-pair ratios A/B <= 0.67.
3. ``--table2``: `socinf run -m experiment=table2 'seeds=[0,1,2,3,4]'` (120 jobs), cold cache. Goal: <= 150 s
   (the old code took 242 s).
4. ``--levels``: SocInf's AUC on the six overfitting levels, seed 0 (`experiment=sota`, cells overfit_*, method
   socinf), against the old code's (``--base DIR`` measures them, else the values below). Goal: each within 0.02,
   or higher.

    .venv/bin/python bench/bench_run.py                                     # 1 and 2 (~2 min)
    .venv/bin/python bench/bench_run.py --base ../old --runs 7 --table2 --levels
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SOCINF = Path(sys.executable).parent / "socinf"  # the entry point `make install` wrote
STAGE_RUNS = {
    "tweet / xgboost": ["dataset=tweet", "target=xgboost"],
    "weibo(5) / logistic": ["dataset=weibo", "dataset.num_classes=5", "target=logistic"],
}
DEFAULT_RUN = ["dataset=tweet", "target=xgboost", "cache.enabled=false"]
TABLE2 = ["-m", "experiment=table2", "seeds=[0,1,2,3,4]"]
LEVELS = ["-m", "experiment=sota", "seeds=[0]", "+experiment/sota_cell=glob(overfit_*)",
          "+experiment/sota_method=socinf"]
# SocInf's AUC on overfit_xgboost_0..5, seed 0, measured with the code before issue 22 (commit 8e21926).
OLD_LEVEL_AUC = [0.5073, 0.5441, 0.5527, 0.6045, 0.7797, 0.7567]


def socinf(tree: Path, args: list[str], workdir: Path) -> tuple[float, int, str]:
    """Runs `socinf run ARGS` from ``tree``: (wall seconds, peak RSS in KiB of the process, its stderr)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    log = workdir / "stderr.txt"
    started = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen([str(SOCINF), "run", *args, f"data.root={workdir / 'data'}"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err, cwd=workdir)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS, not the max over all children
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark run failed ({tree}): socinf run {' '.join(args)}\n{log.read_text()[-2000:]}")
    return wall, usage.ru_maxrss, log.read_text()


def stages() -> None:
    print("1. socinf run, stage cache off (wall time includes interpreter start-up)")
    for name, overrides in STAGE_RUNS.items():
        with tempfile.TemporaryDirectory() as tmp:
            wall, peak_kib, _ = socinf(HERE, [*overrides, "cache.enabled=false", f"hydra.run.dir={tmp}/run"], Path(tmp))
            metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
        timings = metrics["timings_s"]
        print(f"{name:22s} wall {wall:6.1f} s  (in-run total {timings['total']:.1f} s)  "
              f"peak RSS {peak_kib / 1024 / 1024:.2f} GiB  goal <60 s, <1.5 GiB")
        print(f"{'':22s} " + "  ".join(f"{k}={v:.2f}s" for k, v in timings.items() if k != "total"))
        print(f"{'':22s} attack accuracy {metrics['attack']['accuracy']:.4f}  AUC {metrics['attack']['auc']:.4f}")


def default_run(base: Path | None, runs: int) -> None:
    trees = {"this tree": HERE, **({"base": base} if base else {})}
    print(f"\n2. socinf run {' '.join(DEFAULT_RUN)}: {runs} runs each after one warm-up"
          + (", alternating with the base tree" if base else ""))
    walls: dict[str, list[float]] = {name: [] for name in trees}
    peaks: dict[str, list[int]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):
            for name, tree in trees.items():
                wall, peak, _ = socinf(tree, [*DEFAULT_RUN, f"hydra.run.dir={tmp}/{name.replace(' ', '_')}"], Path(tmp))
                if i:  # the first round warms the page cache
                    walls[name].append(wall)
                    peaks[name].append(peak)
    for name in trees:
        w = walls[name]
        print(f"   {name:10s} wall median {statistics.median(w):6.2f} s  (min {min(w):.2f}, max {max(w):.2f})  "
              f"peak RSS {max(peaks[name]) / 1024:.0f} MiB" + ("   goal: median <= 4.0 s" if name == "this tree" else ""))
    if base:
        ratios = [a / b for a, b in zip(walls["this tree"], walls["base"])]
        print(f"   ratio this/base, pair by pair: median {statistics.median(ratios):.3f}  "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f})   goal: <= 0.67")


def sweep(tree: Path, args: list[str], workdir: Path) -> tuple[float, Path]:
    sweep_dir = workdir / "sweep"
    wall, _, _ = socinf(tree, [*args, f"hydra.sweep.dir={sweep_dir}"], workdir)
    failed = sorted(sweep_dir.glob("*/failed.json"))
    if failed:
        raise SystemExit(f"sweep {' '.join(args)}: {len(failed)} job(s) failed, e.g. {failed[0].read_text()}")
    return wall, sweep_dir


def table2() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wall, sweep_dir = sweep(HERE, TABLE2, Path(tmp))
        jobs = len(list(sweep_dir.glob("*/metrics.json")))
    print(f"\n3. socinf run {' '.join(TABLE2)}, cold cache: {jobs} jobs in {wall:.0f} s   goal: <= 150 s (old: 242 s)")


def level_aucs(tree: Path) -> list[dict]:
    """Each level's `attack` section of metrics.json, level 0 first."""
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        _, sweep_dir = sweep(tree, LEVELS, Path(tmp))
        for job in sweep_dir.glob("*/metrics.json"):
            overrides = json.loads((job.parent / "job.json").read_text())["overrides"]
            cell = next(o.split("=", 1)[1] for o in overrides if o.startswith("+experiment/sota_cell="))
            found[int(cell.rsplit("_", 1)[1])] = json.loads(job.read_text())["attack"]
    return [found[level] for level in sorted(found)]


def levels(base: Path | None) -> None:
    new = level_aucs(HERE)
    old = [a["auc"] for a in level_aucs(base)] if base else OLD_LEVEL_AUC
    print(f"\n4. SocInf AUC on the overfitting levels, seed 0 (old: {'measured with ' + str(base) if base else 'recorded'})")
    for i, (attack, before) in enumerate(zip(new, old)):
        failed = [name for name, check in attack["diagnostics"].items() if not check["ok"]]
        verdict = "ok" if attack["auc"] >= before - 0.02 else "BELOW the goal"
        print(f"   level {i}: AUC {attack['auc']:.4f}  old {before:.4f}  diff {attack['auc'] - before:+.4f}  {verdict}"
              f"   failed checks: {', '.join(failed) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="a checkout of the old code, timed and measured alternately")
    parser.add_argument("--runs", type=int, default=5, help="timed default runs per tree (default 5)")
    parser.add_argument("--table2", action="store_true", help="also time the 5-seed Table II sweep (minutes)")
    parser.add_argument("--levels", action="store_true", help="also the six overfitting levels' AUC (minutes)")
    args = parser.parse_args()
    if not os.environ.get("SOCINF_DATA_DIR"):
        default = HERE.parent / "shared" / "data"
        if default.is_dir():
            os.environ["SOCINF_DATA_DIR"] = str(default)
    stages()
    default_run(args.base.resolve() if args.base else None, args.runs)
    if args.table2:
        table2()
    if args.levels:
        levels(args.base.resolve() if args.base else None)


if __name__ == "__main__":
    main()
