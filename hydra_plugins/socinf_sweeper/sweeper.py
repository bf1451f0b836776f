"""socinf's sweeper: Hydra's BasicSweeper, except that with ``resume=true`` it launches only unfinished jobs,
and a worker killed by a signal fails only its own job (``dead_workers``).

Hydra loads a sweeper only from the ``hydra_plugins`` namespace package, hence this module (shipped in the
wheel, selected by ``conf/hydra/sweeper/socinf.yaml``). It imports nothing of the command layer: what counts
as a job's complete result is ``socinf.rundir``'s rule, the one ``socinf run`` and ``socinf report`` apply.

With ``resume=true`` the launcher is wrapped in ``MissingJobsLauncher``. For each batch it composes every job's
config as the launcher would, with the job's number in the original sweep (``initial_job_idx + i``), to find
the job's dir (``hydra.sweep.dir``/``hydra.sweep.subdir``, by default ``DIR/<hydra.job.num>``). A job whose dir
holds a complete result of its own override set (``socinf.rundir.holds_result_of``) is not launched at all;
the others are launched together, in ONE call of the real launcher (so one SLURM array, one joblib pool), each
pinned to its original dir by an added ``hydra.sweep.subdir=<its dir>`` override. Job dirs are never
renumbered. Launchers number a launch's jobs from one ``initial_job_idx`` on: it is the first missing job's
number, so ``hydra.job.num`` is the original number when the missing jobs are consecutive (a sweep killed
half-way), and counts on from the first one otherwise.

When a launch ends in a dead worker (joblib's ``TerminatedWorkerError``: one job's worker was killed, loky then
killed the others and failed every job), the job whose worker died gets ``failed.json`` with the signal, and
the launch's jobs that hold neither a result nor a failure are launched again the same way (pinned to their
dirs), until none is left. The sweep then ends non-zero (``SweepCheck``) and ``resume=true`` completes it.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from omegaconf import open_dict


class SocinfSweeper(BasicSweeper):
    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.launcher = JobsLauncher(self.launcher, hydra_context.config_loader, config, bool(config.get("resume")))


def _job_dir(config_loader: Any, config: Any, overrides: Sequence[str], num: int) -> tuple[Path, str]:
    """(the job's dir, its ``hydra.sweep.subdir``) as Hydra's ``run_job`` will resolve them for job ``num``."""
    job = config_loader.load_sweep_config(config, list(overrides))
    with open_dict(job):
        job.hydra.job.num = num  # as every launcher sets it, before hydra.sweep.subdir is resolved
    subdir = str(job.hydra.sweep.subdir)
    return Path(str(job.hydra.sweep.dir)) / subdir, subdir


def _override_value(text: str) -> str:
    """``text`` as a quoted string in a Hydra override: a quote, and backslashes before a quote, escaped."""
    escaped = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", text)
    return "'" + re.sub(r"(\\+)$", lambda m: m.group(1) * 2, escaped) + "'"


class JobsLauncher:
    """A launcher's stand-in: with ``resume`` it drops a batch's complete jobs; a launch that loses a worker is
    followed by another of the jobs it left without an outcome, each in its own dir."""

    def __init__(self, launcher: Any, config_loader: Any, config: Any, resume: bool) -> None:
        self.launcher, self.config_loader, self.config, self.resume = launcher, config_loader, config, resume

    def _jobs(self, job_overrides, initial_job_idx: int) -> list[tuple[int, list[str], Path, str]]:
        return [(num, list(o), *_job_dir(self.config_loader, self.config, o, num))
                for num, o in enumerate(job_overrides, start=initial_job_idx)]

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[Any]:
        from socinf.rundir import holds_result_of  # at a sweep's start only: plugin discovery stays light

        if type(self.launcher).__module__.startswith("hydra_plugins.hydra_joblib_launcher"):
            from hydra_plugins.socinf_sweeper.dead_workers import record_exit_codes

            record_exit_codes()
        jobs, pinned = self._jobs(job_overrides, initial_job_idx), False
        if self.resume:
            todo = [j for j in jobs if not holds_result_of(j[2], j[1])]
            skipped = [j[3] for j in jobs if j not in todo]
            listed = f" ({', '.join(skipped[:20])}{' ...' if len(skipped) > 20 else ''})" if skipped else ""
            print(f"resume: {len(skipped)} of {len(jobs)} jobs already complete in {self.config.hydra.sweep.dir}, "
                  f"not launched{listed}; launching {len(todo)}", flush=True)
            jobs, pinned = todo, True
        return self._launch_until_done(jobs, pinned, initial_job_idx)

    def _launch_until_done(self, jobs: list, pinned: bool, initial_job_idx: int) -> list:
        from hydra_plugins.socinf_sweeper.dead_workers import bury, failed_since, give_up, is_dead_worker
        from socinf.rundir import holds_result_of

        results: list = []
        while jobs:
            started = time.time()
            batch = [[*o, f"hydra.sweep.subdir={_override_value(sub)}"] if pinned else o for _, o, _, sub in jobs]
            try:
                return results + list(self.launcher.launch(batch, initial_job_idx=jobs[0][0] if pinned
                                                           else initial_job_idx))
            except Exception as exc:  # noqa: BLE001 - only a dead worker is handled; anything else is re-raised
                if not is_dead_worker(exc):
                    raise
            buried = bury([(d, o) for _, o, d, _ in jobs], started)
            left = [j for j in jobs if not holds_result_of(j[2], j[1]) and not failed_since(j[2], started)]
            print(f"sweep: a worker process died ({buried} job(s) recorded as killed in failed.json); launching the "
                  f"{len(left)} job(s) it interrupted or never started again", flush=True)
            if not buried and len(left) == len(jobs):  # no job could be named and none finished: never loop
                give_up([(d, o) for _, o, d, _ in left])
                return results
            jobs, pinned = left, True
        return results
