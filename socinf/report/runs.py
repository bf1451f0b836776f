"""Collect the jobs of a run dir or a multirun dir: complete ones, the ones that did not complete, and the ones
that cannot be read.

A job dir is any folder holding ``.hydra/config.yaml`` or a ``metrics.json`` (``AuditResult.save`` writes no
Hydra files); a single run dir is a sweep of one job. What it holds
is ``socinf.rundir.job_state``'s rule: complete when its result says so, failed otherwise (error from
``failed.json`` or its log). The failed jobs are what the report calls missing; a cell the sweep never asked
for is not. A dir whose files are hostile or half-written (not a JSON object, a key missing, a wrong type,
``"complete"`` not a boolean, malformed YAML, a scores table that does not match its metrics, a file over
``MAX_RECORD_BYTES``) is listed as unreadable with its path and the reason (``socinf.report.readable``); the
rest of the report is written. Texts quoted from a job's files are capped in length and scrubbed of the API key.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from socinf.errors import SocinfError
from socinf.report.readable import config_problem, metrics_problem
from socinf.report.sweep import SweepRuns
from socinf.rundir import (FAILED_FILE, JOB_FILE, MAX_RECORD_BYTES, METRICS_FILE, SCORES_FILE, job_state,  # noqa: F401
                           override_set, read_failure, read_record, result_file, saved_override_set)
from socinf.secrets import scrub

LOG_TAIL_BYTES = 256 * 1024  # the end of a job's log is where its error is
MAX_TEXT = 500  # characters of an error quoted from a job's files


def _short(text) -> str:
    text = scrub(" ".join(str(text).split()))
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " …"


def _yaml(path: Path) -> tuple[object, str | None]:
    """(the YAML document in ``path``, None) or (None, why not)."""
    import yaml

    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_RECORD_BYTES + 1)
        if len(data) > MAX_RECORD_BYTES:
            return None, f"{path.name} is over {MAX_RECORD_BYTES // (1024 * 1024)} MB"
        return yaml.safe_load(data), None
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, yaml.YAMLError, RecursionError) as exc:
        return None, f"{path.name} is not readable YAML ({str(exc).splitlines()[0][:80]})"


def _overrides(job_dir: Path) -> tuple[list[str], str | None]:
    """The job's command-line overrides from ``.hydra/overrides.yaml`` (a list of strings), or why not."""
    value, problem = _yaml(job_dir / ".hydra" / "overrides.yaml")
    if problem or value is None:
        return [], problem
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        return [], "overrides.yaml is not a list of key=value strings"
    return value, None


def _submitit_logs(job_dir: Path) -> list[Path]:
    # A SLURM job ended from outside (scancel, time limit, memory) says why only in submitit's log,
    # <sweep dir>/.submitit/<hydra.job.id>/*_log.err (hydra-submitit-launcher's submitit_folder).
    hydra, _ = _yaml(job_dir / ".hydra" / "hydra.yaml")
    try:
        job_id = hydra["hydra"]["job"]["id"]
    except (KeyError, TypeError):
        return []
    return sorted((job_dir.parent / ".submitit" / str(job_id)).glob("*_log.err")) if job_id else []


def _tail(log: Path) -> str:
    with open(log, "rb") as fh:
        fh.seek(max(0, fh.seek(0, 2) - LOG_TAIL_BYTES))
        return fh.read().decode("utf-8", errors="replace")


def _last_error(job_dir: Path) -> str:
    for log in [*sorted(job_dir.glob("*.log")), *_submitit_logs(job_dir)]:
        try:
            lines = [ln for ln in _tail(log).splitlines() if "ERROR" in ln or "error" in ln]
        except OSError:
            continue
        # slurmstepd's "*** JOB 12 ON node CANCELLED AT ... ***" (or DUE TO TIME LIMIT) is the cause; srun's lines follow it
        lines = [ln for ln in lines if "*** JOB " in ln] or lines
        if lines:
            return lines[-1].strip()
    return "no metrics.json and no error in the job's log (killed or still running?)"


def _scores_problem(job_dir: Path, metrics: dict) -> str | None:
    """Why the result's ``membership_scores.csv`` cannot be used beside its metrics, or None (absent is fine)."""
    path = result_file(job_dir, SCORES_FILE)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_RECORD_BYTES * 4 + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{SCORES_FILE} cannot be read ({exc.strerror})"
    expected = metrics.get("scores_sha256")
    if isinstance(expected, str) and hashlib.sha256(data).hexdigest() != expected:
        return f"{SCORES_FILE} is not the one its {METRICS_FILE} was written with (SHA-256 differs)"
    if len(data) > MAX_RECORD_BYTES * 4:
        return f"{SCORES_FILE} is over {MAX_RECORD_BYTES * 4 // (1024 * 1024)} MB"
    return _scores_table_problem(data)


def _scores_table_problem(data: bytes) -> str | None:
    import io

    import pandas as pd

    try:
        table = pd.read_csv(io.BytesIO(data))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        return f"{SCORES_FILE} is not a readable CSV table ({str(exc).splitlines()[0][:80]})"
    scores = [c for c in table.columns if str(c) == "score" or str(c).startswith("score_")]
    if not scores:  # "score" is the primary method's; a saved audit of threshold attacks has only score_<attack>
        return f"{SCORES_FILE}: no score column (expected 'score' or 'score_<attack>')"
    for column in ["member", *scores]:
        if column not in table or not pd.api.types.is_numeric_dtype(table[column]):
            return f"{SCORES_FILE}: column {column!r} is {'missing' if column not in table else 'not numeric'}"
    if not table.member.isin((0, 1)).all():
        return f"{SCORES_FILE}: column 'member' holds values other than 0 and 1"
    return None


def _read_result(job: Path) -> tuple[dict | None, str | None]:
    """(the job's metrics, None), (None, None) when it has no result, or (None, why it cannot be read)."""
    metrics, problem = read_record(result_file(job, METRICS_FILE))
    if problem == "absent":
        return None, None
    if problem is None:
        problem = metrics_problem(metrics)
    if problem is None and metrics["complete"]:
        problem = _scores_problem(job, metrics)
    if problem is None:
        return metrics, None
    return None, problem if problem.startswith(SCORES_FILE) else f"{METRICS_FILE}: {problem}"


def _job_config(job: Path) -> tuple[dict, str | None]:
    """A failed job's composed config from ``.hydra/config.yaml`` (interpolations resolved), or ({}, why not)."""
    from omegaconf import OmegaConf

    from socinf.protocol import register_resolvers

    value, problem = _yaml(job / ".hydra" / "config.yaml")
    if problem is None and value is not None:
        register_resolvers()  # the resolvers experiment configs use
        try:
            value = OmegaConf.to_container(OmegaConf.create(value), resolve=True)
        except Exception as exc:  # noqa: BLE001 - any OmegaConf failure: the cell stays unknown
            problem = f"config.yaml does not resolve ({str(exc).splitlines()[0][:80]})"
    if problem is None and value is not None:
        problem = config_problem(value)
    return (value if problem is None and isinstance(value, dict) else {}), problem


def _add_job(runs: SweepRuns, job: Path) -> None:
    overrides, bad_overrides = _overrides(job)
    metrics, unreadable = _read_result(job)
    if unreadable or (bad_overrides and metrics is None):
        runs.failed.append({"run_dir": str(job), "overrides": overrides, "status": "unreadable",
                            "error": _short(f"unreadable: {job}: {unreadable or bad_overrides}"),
                            "config": _job_config(job)[0]})
        return
    state = job_state(job)
    if state.status == "complete":
        saved = saved_override_set(job)  # the result's own job, whatever ran (and failed) here since
        if saved is not None and saved != override_set(overrides):
            overrides = saved
        runs.complete.append({**metrics, "run_dir": str(job), "overrides": overrides,
                              **({"note": _short(state.note)} if state.note else {})})
        return
    config, problem = _job_config(job)
    error = state.error or _last_error(job)
    _, bad = read_record(job / FAILED_FILE)
    if state.error is None and bad != "absent":  # a failure record that says nothing readable
        bad = bad or "not a JSON object with an error"
    else:
        bad = None
    notes = [n for n in (state.note, problem and f".hydra/{problem}", bad and f"{FAILED_FILE}: {bad}") if n]
    runs.failed.append({"run_dir": str(job), "overrides": overrides, "status": "failed", "config": config,
                        "error": _short(f"{error} ({'; '.join(notes)})" if notes else error)})


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
        _add_job(runs, job)
    return runs
