"""socinf's sweeper: Hydra's BasicSweeper, except that with ``resume=true`` it launches only unfinished jobs.

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
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from omegaconf import open_dict


class SocinfSweeper(BasicSweeper):
    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        if config.get("resume"):
            self.launcher = MissingJobsLauncher(self.launcher, hydra_context.config_loader, config)


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


class MissingJobsLauncher:
    """A launcher's stand-in that drops a batch's complete jobs and launches the rest in their own dirs."""

    def __init__(self, launcher: Any, config_loader: Any, config: Any) -> None:
        self.launcher, self.config_loader, self.config = launcher, config_loader, config

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[Any]:
        from socinf.rundir import holds_result_of  # at a resumed sweep's start only: plugin discovery stays light

        todo, nums, skipped = [], [], []
        for num, overrides in enumerate(job_overrides, start=initial_job_idx):
            job_dir, subdir = _job_dir(self.config_loader, self.config, overrides, num)
            if holds_result_of(job_dir, overrides):
                skipped.append(subdir)
            else:
                todo.append([*overrides, f"hydra.sweep.subdir={_override_value(subdir)}"])
                nums.append(num)
        listed = f" ({', '.join(skipped[:20])}{' ...' if len(skipped) > 20 else ''})" if skipped else ""
        print(f"resume: {len(skipped)} of {len(job_overrides)} jobs already complete in {self.config.hydra.sweep.dir}, "
              f"not launched{listed}; launching {len(todo)}", flush=True)
        return self.launcher.launch(todo, initial_job_idx=nums[0]) if todo else []
