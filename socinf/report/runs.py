"""Collect the jobs of a run dir or a multirun dir: complete ones and the ones that did not complete.

A job dir is any folder holding ``.hydra/config.yaml`` or a ``metrics.json`` (``AuditResult.save`` writes no
Hydra files); a single run dir is a sweep of one job. It is complete when its ``metrics.json`` says so,
failed otherwise (error from ``failed.json`` or its log).
The failed jobs are what the report calls missing; a cell the sweep never asked for is not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from socinf.errors import SocinfError
from socinf.rundir import JOB_FILE, METRICS_FILE, override_set, read_failure, read_metrics, saved_override_set  # noqa: F401

@dataclass
class SweepRuns:
    root: Path
    complete: list[dict] = field(default_factory=list)  # metrics.json contents + "run_dir", "overrides"
    failed: list[dict] = field(default_factory=list)  # {"run_dir", "overrides", "error"}


def _overrides(job_dir: Path) -> list[str]:
    try:
        import yaml

        return list(yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text()) or [])
    except (OSError, ValueError):
        return []


def _submitit_logs(job_dir: Path) -> list[Path]:
    # A SLURM job ended from outside (scancel, time limit, memory) says why only in submitit's log,
    # <sweep dir>/.submitit/<hydra.job.id>/*_log.err (hydra-submitit-launcher's submitit_folder).
    import yaml

    try:
        job_id = yaml.safe_load((job_dir / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["id"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return []
    return sorted((job_dir.parent / ".submitit" / str(job_id)).glob("*_log.err")) if job_id else []


def _last_error(job_dir: Path) -> str:
    for log in [*sorted(job_dir.glob("*.log")), *_submitit_logs(job_dir)]:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if "ERROR" in ln or "error" in ln]
        # slurmstepd's "*** JOB 12 ON node CANCELLED AT ... ***" (or DUE TO TIME LIMIT) is the cause; srun's lines follow it
        lines = [ln for ln in lines if "*** JOB " in ln] or lines
        if lines:
            return lines[-1].strip()
    return "no metrics.json and no error in the job's log (killed or still running?)"


def load_runs(path: str | Path) -> SweepRuns:
    root = Path(path)
    if not root.is_dir():
        raise SocinfError(f"report: {root} is not a directory; expected a run dir (outputs/DATE/TIME) or a multirun dir")
    found = sorted({p.parent.parent for p in root.rglob(".hydra/config.yaml")}
                   | {p.parent for p in root.rglob(METRICS_FILE)})
    # A job's own sub-runs (the `socinf serve` a remote audit starts in <job>/server/) are not jobs.
    job_dirs = [d for d in found if not any(o != d and o in d.parents for o in found)]
    if not job_dirs:
        raise SocinfError(f"report: no Hydra job under {root} (no .hydra/config.yaml); expected a socinf run or multirun dir")
    runs = SweepRuns(root)
    for job in job_dirs:
        overrides = _overrides(job)
        metrics = read_metrics(job)
        if metrics is not None and metrics.get("complete") is True:
            runs.complete.append({**metrics, "run_dir": str(job), "overrides": overrides})
            continue
        error = read_failure(job) or _last_error(job)
        runs.failed.append({"run_dir": str(job), "overrides": overrides, "error": error})
    return runs
