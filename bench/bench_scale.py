"""Benchmark of sparse keyword records at scale (issue 22): `socinf.audit` on generated keyword-like records, and
`socinf run` on the full Weibo corpus.

Records: ``tests/generated_corpus.keyword_records``, the one generator (Zipf-distributed keywords over 50,000,
~8 a record, labels from a planted linear rule plus noise), held as CSR. Members, non-members and population are
N records each (N per split); the target is trained on the members. Every measurement is a fresh process
(``--worker``), so its peak RSS (``ru_maxrss``) is its own: generating the records, training the target and the
audit. Printed per run: the wall time of each stage (``AuditResult.timings_s``; ``records`` and ``target`` are
the generator and the target's training), the audit's and the process's wall time, peak RSS, and each attack's
AUC (an audit that finds nothing is no benchmark).

1. full audit, per scale and target (LogisticRegression, XGBoost): thresholds, shadow, socinf and LiRA with 16
   references at 10k and 100k per split; thresholds and LiRA at 1M (3M records). ``threads=2``, socinf.audit's
   defaults otherwise (threat=owner).
2. ``--per-method``: each method alone in its own process (its wall time and peak RSS).
3. Weibo: `socinf run dataset=weibo dataset.per_class=null` (every post of the corpus) with a 5,000-keyword
   vocabulary, target=logistic, features sparse then dense (needs SOCINF_DATA_DIR or the data home).

The audits run with ``OMP_WAIT_POLICY=passive`` (socinf's own default since it is imported; ``--omp-active``
sets it active): XGBoost's and scikit-learn's OpenMP threads otherwise spin while they wait, and on a machine
whose 2 cores other work also uses, an XGBoost fit of 10k x 50,000 records took 111 s and 97 s against 14.7 s
passive (measured back to back, load average 4.7).

Goals (issue 22, on 2 cores): 100k per split x 50k keywords, logistic target, thresholds + shadow + socinf + LiRA
(16): <= 15 min wall and <= 3 GB peak RSS; the same figures for XGBoost. 1M per split, thresholds + LiRA:
finishes within 24 GB.

    .venv/bin/python bench/bench_scale.py                                  # 1 and 3 (about an hour)
    .venv/bin/python bench/bench_scale.py --scales 100k --targets logistic
    .venv/bin/python bench/bench_scale.py --scales 10k --per-method --no-weibo
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SCALES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
KEYWORDS = 50_000
ALL_METHODS = ["thresholds", "shadow", "socinf", "lira"]
BIG_METHODS = ["thresholds", "lira"]  # at 1M per split (the second goal)
N_REFERENCES = 16
TARGET_PARAMS = {"logistic": {"C": 1.0, "max_iter": 2000},  # conf/target/*.yaml
                 "xgboost": {"n_estimators": 200, "max_depth": 6, "learning_rate": 0.3}}
WEIBO = ["dataset=weibo", "dataset.per_class=null", "dataset.n_keywords=5000", "target=logistic", "threads=2",
         "cache.enabled=false"]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(job: dict) -> dict:
    """One audit in this process: records, target, socinf.audit; its timings, peak RSS and AUCs."""
    sys.path.insert(0, str(HERE / "tests"))
    from generated_corpus import keyword_records

    import socinf
    from socinf.owner.models import fit_local_model

    started = time.perf_counter()
    n, timings = job["n"], {}
    X, y = keyword_records(3 * n, job["keywords"], seed=job["seed"])
    sets = [(X[i * n:(i + 1) * n], y[i * n:(i + 1) * n]) for i in range(3)]
    del X, y
    timings["records"] = time.perf_counter() - started
    model = fit_local_model(job["target"], TARGET_PARAMS[job["target"]], *sets[0], seed=job["seed"],
                            threads=job["threads"])
    timings["target"] = time.perf_counter() - started - timings["records"]
    audit_start = time.perf_counter()
    result = socinf.audit(model, *sets, methods=job["methods"], seed=job["seed"], threads=job["threads"],
                          lira={"n_references": N_REFERENCES}).to_dict()
    audit_wall = time.perf_counter() - audit_start
    aucs = {name: m.get("auc") for name, m in {**result["attacks"], **result["baselines"]}.items()}
    return {**job, "stages_s": {**timings, **result["timings_s"]}, "audit_s": audit_wall,
            "wall_s": time.perf_counter() - started, "peak_mib": peak_mib(), "auc": aucs,
            "target_test_accuracy": result["target"].get("test_accuracy")}


def run_worker(job: dict, omp_passive: bool = True) -> dict:
    """``job`` in a fresh process; its result (or its error, with the stderr tail)."""
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    env["OMP_WAIT_POLICY"] = "passive" if omp_passive else "active"  # see the module docstring
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(job)], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        return {**job, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def show(found: dict) -> None:
    what = f"{found['target']:8s} {found['n']:>9,} per split x {found['keywords']:,} keywords, {'+'.join(found['methods'])}"
    if "error" in found:
        print(f"{what}: FAILED: {found['error']}", flush=True)
        return
    stages = ", ".join(f"{k} {v:.1f}" for k, v in found["stages_s"].items())
    aucs = ", ".join(f"{k} {v:.3f}" for k, v in found["auc"].items() if v is not None)
    print(f"{what}\n    audit {found['audit_s']:.1f} s, process {found['wall_s']:.1f} s, peak RSS "
          f"{found['peak_mib'] / 1024:.2f} GiB; target test accuracy {found['target_test_accuracy']:.3f}\n"
          f"    stages (s): {stages}\n    AUC: {aucs}", flush=True)


def weibo(features: str) -> dict:
    """`socinf run` on every Weibo post, features sparse or dense: wall time, peak RSS, stage timings."""
    socinf_cmd = Path(sys.executable).parent / "socinf"
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with open(Path(tmp) / "stderr.txt", "w") as err:
            proc = subprocess.Popen([str(socinf_cmd), "run", *WEIBO, f"dataset.features={features}",
                                     f"data.root={tmp}/data", f"hydra.run.dir={tmp}/run"],
                                    env={**os.environ, "PYTHONPATH": str(HERE)}, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            return {"features": features, "error": ((Path(tmp) / "stderr.txt").read_text().strip().splitlines()
                                                    or ["?"])[-1]}
        metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
    return {"features": features, "wall_s": wall, "peak_mib": usage.ru_maxrss / 1024,
            "records": metrics["dataset"]["records"], "timings_s": metrics["timings_s"],
            "auc": {"socinf": metrics["attack"]["auc"], **{k: v["auc"] for k, v in metrics["baselines"].items()}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--scales", default="10k,100k,1M", help="comma-separated, of " + ", ".join(SCALES))
    parser.add_argument("--targets", default="logistic,xgboost")
    parser.add_argument("--methods", default=None, help="default: all four, thresholds+lira at 1M")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-method", action="store_true", help="also each method alone, in its own process")
    parser.add_argument("--no-weibo", action="store_true")
    parser.add_argument("--omp-active", action="store_true", help="OpenMP threads spin while they wait")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    print(f"bench_scale: {os.cpu_count()} cores; threads={args.threads}; {KEYWORDS:,} keywords", flush=True)
    for scale in [s for s in args.scales.split(",") if s]:  # --scales= : the Weibo runs alone
        for target in args.targets.split(","):
            methods = args.methods.split(",") if args.methods else (BIG_METHODS if scale == "1M" else ALL_METHODS)
            job = {"n": SCALES[scale], "keywords": KEYWORDS, "target": target, "methods": methods,
                   "threads": args.threads, "seed": args.seed}
            show(run_worker(job, not args.omp_active))
            for method in methods if args.per_method and len(methods) > 1 else []:
                show(run_worker({**job, "methods": [method]}, not args.omp_active))
    for features in ([] if args.no_weibo else ["sparse", "dense"]):
        found = weibo(features)
        if "error" in found:
            print(f"weibo (every post), features={features}: FAILED: {found['error']}", flush=True)
            continue
        stages = ", ".join(f"{k} {v:.1f}" for k, v in found["timings_s"].items())
        print(f"weibo (every post: {found['records']:,} records, 5,000 keywords), logistic, features={features}: "
              f"{found['wall_s']:.1f} s, peak RSS {found['peak_mib'] / 1024:.2f} GiB\n    stages (s): {stages}\n"
              f"    AUC: {', '.join(f'{k} {v:.3f}' for k, v in found['auc'].items() if v is not None)}", flush=True)


if __name__ == "__main__":
    main()
