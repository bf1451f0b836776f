"""socinf's sweeper: Hydra's BasicSweeper, except that every job is checked before the first one starts, that
with ``resume=true`` it launches only unfinished jobs, and that a worker killed by a signal fails only its own
job (``dead_workers``).

Hydra loads a sweeper only from the ``hydra_plugins`` namespace package, hence this module (shipped in the
wheel, selected by ``conf/hydra/sweeper/socinf.yaml``). It imports nothing of the command layer: what counts
as a job's complete result is ``socinf.rundir``'s rule, the one ``socinf run`` and ``socinf report`` apply,
and the check of the jobs is the function the sweeper's config names (``check_jobs``: a dotted path).

Before anything is launched (and before the sweep dir is made), ``check_jobs(jobs, compose, skip_impossible)``
gets every job's overrides and a function composing a job's config as the launcher will: it raises to stop the
sweep (a job that cannot run, named by its overrides), returns None to launch nothing (``--dry-run``), or the
numbers of the jobs not to launch (the impossible ones, where the sweep's config allows skipping them:
``hydra.sweeper.skip_impossible``). The jobs are then not composed a second time. ``LAUNCH_ENV`` tells each
job how many jobs this launch runs (its "done [n/N]" line).

With ``resume=true``, or when jobs are skipped, the launcher is wrapped in ``SubsetLauncher``. For each batch
it composes every job's config as the launcher would, with the job's number in the original sweep
(``initial_job_idx + i``), to find the job's dir (``hydra.sweep.dir``/``hydra.sweep.subdir``, by default
``DIR/<hydra.job.num>``). A skipped job, or with ``resume=true`` a job whose dir holds a complete result of its
own override set (``socinf.rundir.holds_result_of``), is not launched at all; the others are launched together,
in ONE call of the real launcher (so one SLURM array, one joblib pool), each pinned to its original dir by an
added ``hydra.sweep.subdir=<its dir>`` override. Job dirs are never renumbered. Launchers number a launch's jobs
from one ``initial_job_idx`` on: it is the first launched job's number, so ``hydra.job.num`` is the original
number when the launched jobs are consecutive (a sweep killed half-way), and counts on from the first one otherwise.

When a launch ends in a dead worker (joblib's ``TerminatedWorkerError``: one job's worker was killed, loky then
killed the others and failed every job), the job whose worker died gets ``failed.json`` with the signal, and
the launch's jobs that hold neither a result nor a failure are launched again, pinned to their dirs, until none
is left. The sweep then ends non-zero (``SweepCheck``) and ``resume=true`` completes it.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from omegaconf import open_dict


LAUNCH_ENV = "SOCINF_SWEEP_LAUNCH"  # "<launch token> <jobs launched>", inherited by the jobs of one launch


class SocinfSweeper(BasicSweeper):
    def __init__(self, max_batch_size: Any = None, params: Any = None, check_jobs: Any = None,
                 skip_impossible: bool = False) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.check_jobs, self.skip_impossible = check_jobs, skip_impossible
        self.checked = False

    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.subset = SubsetLauncher(self.launcher, hydra_context.config_loader, config, bool(config.get("resume")))
        self.launcher = self.subset

    def all_jobs(self, arguments: list[str]) -> list[list[str]]:
        """Every job's overrides, in launch order (as ``BasicSweeper.sweep`` splits them)."""
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        parsed = parser.parse_overrides([*self._parse_config(), *arguments])
        return [list(job) for batch in self.split_arguments(parsed, None) for job in batch]

    def sweep(self, arguments: list[str]) -> Any:
        if self.check_jobs:
            from hydra.utils import get_method

            jobs = self.all_jobs(arguments)
            loader = self.hydra_context.config_loader
            skip = get_method(self.check_jobs)(jobs, lambda job: loader.load_sweep_config(self.config, list(job)),
                                               self.skip_impossible)
            if skip is None:
                return []  # --dry-run: listed, none launched
            self.subset.skip, self.checked = set(skip), True
            os.environ[LAUNCH_ENV] = f"{os.getpid()}-{time.time_ns()} {len(jobs) - len(skip)}"
        return super().sweep(arguments)

    def validate_batch_is_legal(self, batch: Any) -> None:
        if not self.checked:  # check_jobs composed every job already
            super().validate_batch_is_legal(batch)


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


class SubsetLauncher:
    """A launcher's stand-in that leaves out the skipped jobs (and with ``resume`` the complete ones) and
    launches the rest in their own dirs; with nothing to leave out, the real launcher as it is. A launch that
    loses a worker is followed by another of the jobs it left without an outcome."""

    def __init__(self, launcher: Any, config_loader: Any, config: Any, resume: bool) -> None:
        self.launcher, self.config_loader, self.config, self.resume = launcher, config_loader, config, resume
        self.skip: set[int] = set()

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[Any]:
        if type(self.launcher).__module__.startswith("hydra_plugins.hydra_joblib_launcher"):
            from hydra_plugins.socinf_sweeper.dead_workers import record_exit_codes

            record_exit_codes()
        nums = range(initial_job_idx, initial_job_idx + len(job_overrides))
        if not self.resume and not self.skip.intersection(nums):
            return self._launch([(num, list(o)) for num, o in zip(nums, job_overrides)], pinned=False)
        from socinf.rundir import holds_result_of  # at a resumed sweep's start only: plugin discovery stays light

        todo, complete = [], []
        for num, overrides in zip(nums, job_overrides):
            if num in self.skip:
                continue
            job_dir, subdir = _job_dir(self.config_loader, self.config, overrides, num)
            if self.resume and holds_result_of(job_dir, overrides):
                complete.append(subdir)
            else:
                todo.append((num, list(overrides)))
        if self.resume:
            listed = f" ({', '.join(complete[:20])}{' ...' if len(complete) > 20 else ''})" if complete else ""
            print(f"resume: {len(complete)} of {len(complete) + len(todo)} jobs already complete in "
                  f"{self.config.hydra.sweep.dir}, not launched{listed}; launching {len(todo)}", flush=True)
            token = os.environ.get(LAUNCH_ENV, f"{os.getpid()}-{time.time_ns()} 0").split()[0]
            os.environ[LAUNCH_ENV] = f"{token} {len(todo)}"
        return self._launch(todo, pinned=True) if todo else []

    def _launch(self, jobs: list[tuple[int, list[str]]], pinned: bool) -> list:
        """Launch ``jobs`` (number, overrides), pinned to their dirs or not; after a dead worker, again the ones
        it left without an outcome, pinned."""
        from hydra_plugins.socinf_sweeper.dead_workers import is_dead_worker

        results: list = []
        while jobs:
            started = time.time()
            batch = [[*o, f"hydra.sweep.subdir={_override_value(self._dir(num, o)[1])}"] if pinned else o
                     for num, o in jobs]
            try:
                return results + list(self.launcher.launch(batch, initial_job_idx=jobs[0][0]))
            except Exception as exc:  # noqa: BLE001 - only a dead worker is handled; anything else is re-raised
                if not is_dead_worker(exc):
                    raise
            jobs, pinned = self._after_dead_worker(jobs, started), True
        return results

    def _dir(self, num: int, overrides: list[str]) -> tuple[Path, str]:
        return _job_dir(self.config_loader, self.config, overrides, num)

    def _after_dead_worker(self, jobs: list[tuple[int, list[str]]], started: float) -> list[tuple[int, list[str]]]:
        """Record the job(s) whose worker died; the jobs left to launch again (none if none could be named)."""
        from hydra_plugins.socinf_sweeper.dead_workers import bury, failed_since, give_up
        from socinf.rundir import holds_result_of

        dirs = [(num, o, self._dir(num, o)[0]) for num, o in jobs]
        buried = bury([(d, o) for _, o, d in dirs], started)
        left = [(num, o) for num, o, d in dirs if not holds_result_of(d, o) and not failed_since(d, started)]
        print(f"sweep: a worker process died ({buried} job(s) recorded as killed in failed.json); launching the "
              f"{len(left)} job(s) it interrupted or never started again", flush=True)
        if not buried and len(left) == len(jobs):  # no job could be named and none finished: never loop
            give_up([(d, o) for num, o, d in dirs if (num, o) in left])
            return []
        os.environ[LAUNCH_ENV] = f"{os.getpid()}-{time.time_ns()} {len(left)}"
        return left
