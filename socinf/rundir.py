"""The run directory's rules, in one place: its file names, what counts as a complete result, and how a result
or a failure is written.

A job dir (``outputs/DATE/TIME`` or ``multirun/DATE/TIME/N``) holds ``METRICS_FILE`` (the result; its presence
with ``"complete": true`` is what "complete" means), ``SCORES_FILE`` (per-record scores), ``EXPOSURE_FILE``
(the members an attack singles out first), ``JOB_FILE`` (the
job's override set, what ``resume=true`` recognises it by) or ``FAILED_FILE`` (why it did not complete). The
writers (``socinf run``), the sweeper that resumes (``hydra_plugins/socinf_sweeper``) and the readers
(``socinf report``, the sweep summary) all use these functions, so none of them has its own idea of the rules.

Nothing is lost: every file is written atomically, a new result is written only once its run has succeeded
(the scores first, then the metrics, then the job record), and a failure never touches a completed result.
"""
from __future__ import annotations

import json
from pathlib import Path

from socinf.io import atomic_write_json, atomic_write_text

METRICS_FILE = "metrics.json"
SCORES_FILE = "membership_scores.csv"
EXPOSURE_FILE = "exposure.csv"  # the evaluation members, most exposed first (socinf.evaluation.exposure)
JOB_FILE = "job.json"  # written beside a complete metrics.json: the job's identity for ``resume=true``
FAILED_FILE = "failed.json"


def override_set(overrides) -> list[str]:
    """What identifies a job of a sweep: its overrides, sorted, without ``resume`` and ``hydra.*`` keys
    (so a resumed sweep, whatever order it numbers its jobs in, recognises each job by what it computes)."""
    keep = []
    for item in overrides or []:
        key = str(item).split("=", 1)[0].lstrip("+~")
        if key != "resume" and not key.startswith(("hydra.", "hydra/")) and key != "hydra":
            keep.append(str(item))
    return sorted(keep)


def saved_override_set(job_dir: Path) -> list[str] | None:
    """The override set a complete job recorded (``JOB_FILE``), or None when there is no such record."""
    try:
        saved = json.loads((Path(job_dir) / JOB_FILE).read_text())["overrides"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return override_set(saved) if isinstance(saved, list) else None


def read_metrics(job_dir: Path) -> dict | None:
    """The job's result, or None when there is none (absent, unreadable, not a JSON object)."""
    try:
        metrics = json.loads((Path(job_dir) / METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return metrics if isinstance(metrics, dict) else None


def is_complete(job_dir: Path) -> bool:
    metrics = read_metrics(job_dir)
    return metrics is not None and metrics.get("complete") is True


def holds_result_of(job_dir: Path, overrides) -> bool:
    """The ``resume=true`` rule: ``job_dir`` holds a complete result of this very override set."""
    return is_complete(job_dir) and saved_override_set(job_dir) == override_set(overrides)


def read_failure(job_dir: Path) -> str | None:
    """Why the job failed, as ``FAILED_FILE`` says, or None."""
    try:
        failure = json.loads((Path(job_dir) / FAILED_FILE).read_text())
    except (OSError, ValueError):
        return None
    return str(failure.get("error")) if isinstance(failure, dict) and failure.get("error") is not None else None


def write_result(job_dir: Path, metrics: dict, scores_csv: str, overrides=None) -> None:
    """A completed run's files, each atomically: the scores, then the metrics (their presence means complete),
    then the job record; a failure record of an earlier attempt goes last."""
    job_dir = Path(job_dir)
    atomic_write_text(job_dir / SCORES_FILE, scores_csv)
    atomic_write_json(job_dir / METRICS_FILE, metrics)
    if overrides is not None:
        atomic_write_json(job_dir / JOB_FILE, {"overrides": override_set(overrides)})
    (job_dir / FAILED_FILE).unlink(missing_ok=True)


def write_failure(job_dir: Path, error: str, kind: str) -> None:
    """Why a job failed; a completed result already in ``job_dir`` (an earlier run's) is left as it was."""
    atomic_write_json(Path(job_dir) / FAILED_FILE, {"error": error, "kind": kind})
