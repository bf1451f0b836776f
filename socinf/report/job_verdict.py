"""A job's verdict and per-record scores as the report reads them back from its run directory.

A job run by this version carries its ``verdict`` in metrics.json. One saved before verdicts existed (an older
sweep) has its verdict recomputed here from membership_scores.csv, with each attack's saved threshold: the
same test, intervals and epsilon bounds; no blind baseline and no utility check (those need the evaluation
records and the answers, which a run directory does not keep), and a note that says so.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from socinf.rundir import EXPOSURE_FILE

RECOMPUTED = "recomputed by socinf report from membership_scores.csv (the run predates verdicts)"


def job_scores(job: dict) -> tuple[pd.DataFrame | None, dict[str, np.ndarray]]:
    """The job's scores table and each attack's scores by name (empty when the run dir has none)."""
    from socinf.score_files import read_scores

    if not job.get("run_dir"):
        return None, {}
    try:
        return read_scores(job["run_dir"], job)
    except (OSError, ValueError, KeyError):
        return None, {}


def job_exposure(job: dict, table: pd.DataFrame | None, scores: dict) -> pd.DataFrame | None:
    """exposure.csv, or (older runs) the same ranking made from the scores."""
    path = Path(job["run_dir"]) / EXPOSURE_FILE if job.get("run_dir") else None
    if path is not None and path.exists():
        try:
            return pd.read_csv(path)
        except (OSError, ValueError):
            return None
    name = ((job.get("strongest") or {}).get("by_tpr_at_1pct_fpr") or {}).get("method")
    if table is None or name not in scores:
        return None
    from socinf.evaluation.exposure import exposure_table

    labels = table["label"] if "label" in table else np.full(len(table), "")
    return exposure_table(table.record_id, table.member, scores[name], labels).assign(attack=name)


def recomputed_verdict(job: dict, table: pd.DataFrame | None, scores: dict) -> dict:
    """The job's verdict: its own, or recomputed from its scores (``RECOMPUTED``); {} without scores."""
    if job.get("verdict"):
        return job["verdict"]
    if table is None or not scores:
        return {}
    from socinf.evaluation.judgement import judge
    from socinf.evaluation.metrics import membership_metrics
    from socinf.evaluation.verdict import evidence, strongest

    membership = table.member.to_numpy(int)
    saved = {**(job.get("attacks") or {}), **(job.get("baselines") or {})}
    if not job.get("attacks") and job.get("attack"):
        saved[(job.get("method") or {}).get("name", "method")] = job["attack"]
    metrics = {n: membership_metrics(membership, s, (saved.get(n) or {}).get("threshold", 0.5)) for n, s in scores.items()}
    best = strongest(metrics, scores, membership, seed=job.get("seed") or 0)
    found = evidence(scores, metrics, membership, None, None, None, seed=job.get("seed") or 0)
    verdict = judge(found, best, {n: {**metrics[n], "diagnostics": (saved.get(n) or {}).get("diagnostics")}
                                  for n in metrics}, job.get("target"), job.get("threat"))
    return {**verdict, "note": RECOMPUTED, "attacks_recomputed": metrics} if verdict else {}
