"""The compact table a sweep (``socinf run -m``) prints when its last job ends.

Each job already printed one line when it finished (``socinf.report.console.job_line``) and keeps its
full table in its own ``run.log``; this Hydra callback adds one table of every job's headline numbers.
"""
from __future__ import annotations

import os
from pathlib import Path

from hydra.experimental.callback import Callback

from socinf.rundir import job_state, read_metrics


FIXED_ENV = "SOCINF_SWEEP_FIXED"  # keys of the sweep's fixed overrides, for the jobs' one-line reports
_SWEEP_SYNTAX = (",", "glob(", "range(", "choice(", "interval(")


def _overrides(job_dir: Path) -> list[str]:
    from omegaconf import OmegaConf

    path = job_dir / ".hydra" / "overrides.yaml"
    return [str(o) for o in OmegaConf.load(path)] if path.exists() else []


def _job_row(job_dir: Path, common: set[str]) -> tuple[str, ...]:
    overrides = " ".join(o for o in _overrides(job_dir) if o not in common)
    state = job_state(job_dir)  # a result beside a later job's failure is that job's failure (socinf.rundir)
    try:
        if state.status == "complete":
            m = read_metrics(job_dir) or {}
            a = m["attack"]
            return (job_dir.name, overrides, "complete", f"{a['auc']:.3f}" if a["auc"] is not None else "—",
                    f"{a['tpr_at_1pct_fpr']:.3f}", f"{m['target']['overfitting_gap']:.3f}")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    status = "failed" if state.status == "failed" else "no result"  # why: the job's line, failed.json
    return job_dir.name, overrides, status, "", "", ""


def print_sweep_summary(sweep_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    if not sweep_dir.is_dir():  # nothing was launched (`--dry-run`)
        return
    jobs = sorted((d for d in sweep_dir.iterdir() if d.is_dir() and d.name.isdigit()), key=lambda d: int(d.name))
    if not jobs:
        return
    table = Table(box=None)
    for col, justify in (("job", "right"), ("overrides", "left"), ("status", "left"), ("AUC", "right"),
                         ("TPR@1%FPR", "right"), ("overfit gap", "right")):
        table.add_column(col, justify=justify)
    per_job = [set(_overrides(job)) for job in jobs]
    common = set.intersection(*per_job) if len(jobs) > 1 else set()
    for job in jobs:
        table.add_row(*_job_row(job, common))
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 200))  # a log file or pipe: one row per job, unwrapped
    console.print(f"sweep {sweep_dir}: {len(jobs)} jobs (full tables: <job>/run.log; socinf report {sweep_dir})")
    console.print(table)


class SweepSummary(Callback):
    def on_multirun_start(self, config, **kwargs) -> None:
        fixed = [o.split("=", 1)[0] for o in config.hydra.overrides.task if not any(t in o for t in _SWEEP_SYNTAX)]
        os.environ[FIXED_ENV] = "\x1f".join(fixed)  # keys, inherited by the launcher's worker processes

    def on_multirun_end(self, config, **kwargs) -> None:
        print_sweep_summary(Path(config.hydra.sweep.dir))
