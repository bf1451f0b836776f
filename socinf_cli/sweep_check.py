"""A sweep checked before its first job starts, its plan (``--dry-run``), and each job's place in it ([n/N]).

``check_jobs`` is what socinf's sweeper (``hydra_plugins.socinf_sweeper``, ``hydra.sweeper.check_jobs``) calls
with every job's overrides before it launches anything: each job's config is composed as the launcher will
compose it and checked by ``validate`` (every group's constraints, the rules between groups, the attack built,
the estimators' hyper-parameters), so a job that cannot work (``defense=dp`` with ``target=xgboost``) stops the
sweep at once, named by its overrides, instead of failing when its turn comes (and again on ``resume=true``).
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from socinf.errors import ConfigError, SocinfError

PLAN_ONLY = False  # `socinf run -m ... --dry-run`: list the jobs and their queries, launch none
DONE_FILE = ".socinf_jobs_done"  # in the sweep dir: "<launch token> <jobs done>", under an flock


def _job_name(overrides: list[str], common: set[str] = frozenset()) -> str:
    """A job by its overrides, less those every job of the sweep has."""
    return " ".join(o for o in overrides if o not in common) or "(defaults)"


def _check(overrides: list[str], compose):
    """(the job's composed config, why it cannot run or None); a bad override stops the sweep at once."""
    from socinf_cli.overrides import config_error, one_line

    try:
        cfg = compose(overrides)
    except Exception as exc:
        if not config_error(exc):
            raise
        raise ConfigError(f"sweep job {_job_name(overrides)}: {one_line(exc)}; no job was started") from None
    return cfg, _why_not(cfg)


def _why_not(cfg) -> str | None:
    """Why the composed job ``cfg`` cannot run (``validate``'s line), or None."""
    from socinf_cli.validate import validate

    try:
        validate(cfg)
    except SocinfError as exc:
        return str(exc)
    return None


def _seed_of(override: str) -> int | None:
    """The value of a plain ``seed=N`` override (N up to 9 decimal digits: within the seed's range), else None
    (composed as it is, so Hydra and the settings check it)."""
    key, _, value = override.partition("=")
    return int(value) if key == "seed" and value.isascii() and value.isdigit() and len(value) <= 9 else None


def _check_all(jobs: list[list[str]], compose) -> list[tuple]:
    """``_check`` of every job. Jobs that differ only in a plain ``seed=N`` share one composition (Hydra's takes
    ~0.2 s a job, 24 s of a 120-job sweep's start): the first is composed, the others are its config with
    ``seed`` set (interpolations resolve lazily, so the same config) and validated each."""
    from omegaconf import open_dict

    composed: dict[tuple, object] = {}
    checked = []
    for overrides in jobs:
        seeds = [_seed_of(o) for o in overrides if o.partition("=")[0] == "seed"]
        seed = seeds[0] if len(seeds) == 1 else None
        rest = tuple(o for o in overrides if o.partition("=")[0] != "seed")
        if seed is None or rest not in composed:
            cfg, why = _check(overrides, compose)
            if seed is not None:
                composed.setdefault(rest, cfg)
        else:
            cfg = composed[rest].copy()
            with open_dict(cfg):
                cfg.seed = seed
            why = _why_not(cfg)
        checked.append((overrides, cfg, why))
    return checked


def check_jobs(jobs: list[list[str]], compose, skip_impossible: bool) -> set[int] | None:
    """Every job composed and validated. Raises ConfigError naming the first job that cannot run (unless
    ``skip_impossible``: those are named and left out); returns the jobs to leave out, or None with
    ``PLAN_ONLY`` (the plan was printed; nothing is launched)."""
    from socinf_cli.plan import print_sweep_plan

    checked = _check_all(jobs, compose)
    impossible = {num: (overrides, why) for num, (overrides, _, why) in enumerate(checked) if why is not None}
    if impossible and not skip_impossible:
        num, (overrides, why) = next(iter(impossible.items()))
        common = set.intersection(*(set(job) for job in jobs)) if len(jobs) > 1 else set()
        more = f" ({len(impossible) - 1} more of the {len(jobs)} jobs cannot run either)" if len(impossible) > 1 else ""
        raise ConfigError(f"sweep job {num} of {len(jobs)} cannot run ({_job_name(overrides, common)}): {why}; "
                          f"no job was started{more}")
    reasons: dict[str, list[int]] = {}
    for num, (_, why) in impossible.items():
        reasons.setdefault(why, []).append(num)
    for why, nums in reasons.items():  # hydra.sweeper.skip_impossible: one line per reason, naming the jobs
        print(f"not launched, cannot run: job{'s' if len(nums) > 1 else ''} {', '.join(map(str, nums))} of "
              f"{len(jobs)}: {why}", flush=True)
    if PLAN_ONLY:
        print_sweep_plan([(num, overrides, cfg) for num, (overrides, cfg, _) in enumerate(checked) if num not in impossible])
        return None
    return set(impossible)


def progress(sweep_dir: Path) -> str:
    """``[n/N]`` for the job that just ended: the n-th of the N jobs of this launch to end (counted in the
    sweep dir under an flock, so parallel jobs each get their own n); empty outside a checked sweep."""
    from hydra_plugins.socinf_sweeper.sweeper import LAUNCH_ENV

    launch = os.environ.get(LAUNCH_ENV, "").split()
    if len(launch) != 2:
        return ""
    token, total = launch
    try:
        with open(Path(sweep_dir) / DONE_FILE, "a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            saved = fh.read().split()
            done = int(saved[1]) + 1 if len(saved) == 2 and saved[0] == token and saved[1].isdigit() else 1
            fh.seek(0)
            fh.truncate()
            fh.write(f"{token} {done}\n")
            fh.flush()
    except OSError:  # a read-only or vanished sweep dir: the line without its count
        return ""
    return f"[{done}/{total}]"
