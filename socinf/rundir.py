"""The run directory's rules, in one place: its file names, what counts as a complete result, how a result or a
failure is written, and what a reader makes of a dir holding both.

A job dir (``outputs/DATE/TIME`` or ``multirun/DATE/TIME/N``) holds ``METRICS_FILE`` (the result; its presence
with ``"complete": true`` is what "complete" means), ``SCORES_FILE`` (per-record scores; ``metrics.json``
names its SHA-256), ``EXPOSURE_FILE`` (the members an attack singles out first), ``JOB_FILE`` (the job's override set, what ``resume=true`` recognises it by, and a copy of
its ``.hydra/`` files) or ``FAILED_FILE`` (why the job that last ran there did not complete, and its overrides).
The writers (``socinf run``), the sweeper that resumes (``hydra_plugins/socinf_sweeper``) and the readers
(``socinf report``, the sweep summary) all use these functions, so none of them has its own idea of the rules.

Nothing is lost. A new result is first written aside, into ``STAGED_DIR`` (scores, job record, then metrics:
complete once its metrics are there), and only then moved into place, metrics last. Readers resolve each file
through ``result_file``: while a staged set is complete they read it (the files already moved are the new ones,
the others are still staged), so the metrics and the scores they see always belong to one result; a run killed
mid-move is finished by the next writer (``settle``). A failure never touches a completed result.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from socinf.io import atomic_write_json, atomic_write_text

METRICS_FILE = "metrics.json"
SCORES_FILE = "membership_scores.csv"
EXPOSURE_FILE = "exposure.csv"  # the evaluation members, most exposed first (socinf.evaluation.exposure)
JOB_FILE = "job.json"  # written beside a complete metrics.json: the job's identity for ``resume=true``
FAILED_FILE = "failed.json"
STAGED_DIR = ".staged"  # a result being written; complete once it holds its METRICS_FILE
RUNNING_FILE = ".running.json"  # {"pid", "started"} of the process running the job, while it runs
RESULT_FILES = (SCORES_FILE, EXPOSURE_FILE)  # moved in before the job record and the metrics
HYDRA_FILES = ("config.yaml", "overrides.yaml", "hydra.yaml")  # the job's .hydra/, kept in its job record
MAX_RECORD_BYTES = 16 * 1024 * 1024  # a metrics.json is ~16 KB; a bigger JSON record is not read


def override_set(overrides) -> list[str]:
    """What identifies a job of a sweep: its overrides, sorted, without ``resume`` and ``hydra.*`` keys
    (so a resumed sweep, whatever order it numbers its jobs in, recognises each job by what it computes)."""
    keep = []
    for item in overrides or []:
        key = str(item).split("=", 1)[0].lstrip("+~")
        if key != "resume" and not key.startswith(("hydra.", "hydra/")) and key != "hydra":
            keep.append(str(item))
    return sorted(keep)


def result_file(job_dir: Path, name: str) -> Path:
    """Where the job's current result keeps ``name``: its staged copy while a complete staged result is being
    moved into place (or was cut short doing so), else the file in ``job_dir``."""
    staged = Path(job_dir) / STAGED_DIR
    if (staged / METRICS_FILE).is_file() and (staged / name).is_file():
        return staged / name
    return Path(job_dir) / name


def read_record(path: Path) -> tuple[object, str | None]:
    """(the JSON in ``path``, None) or (None, why it cannot be read): absent, over ``MAX_RECORD_BYTES``, not
    UTF-8 JSON."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_RECORD_BYTES + 1)
    except FileNotFoundError:
        return None, "absent"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"
    if len(data) > MAX_RECORD_BYTES:
        return None, f"over {MAX_RECORD_BYTES // (1024 * 1024)} MB (a result is a few KB)"
    try:
        return json.loads(data), None
    except (ValueError, RecursionError) as exc:
        return None, f"not valid JSON ({str(exc).splitlines()[0][:80]})"


def _object(path: Path) -> dict | None:
    record, _ = read_record(path)
    return record if isinstance(record, dict) else None


def read_metrics(job_dir: Path) -> dict | None:
    """The job's result, or None when there is none (absent, unreadable, not a JSON object)."""
    return _object(result_file(job_dir, METRICS_FILE))


def is_complete(job_dir: Path) -> bool:
    metrics = read_metrics(job_dir)
    return metrics is not None and metrics.get("complete") is True


def saved_override_set(job_dir: Path) -> list[str] | None:
    """The override set a complete job recorded (``JOB_FILE``), or None when there is no such record."""
    saved = (_object(result_file(job_dir, JOB_FILE)) or {}).get("overrides")
    return override_set(saved) if isinstance(saved, list) else None


def holds_result_of(job_dir: Path, overrides) -> bool:
    """The ``resume=true`` rule: ``job_dir`` holds a complete result of this very override set."""
    return is_complete(job_dir) and saved_override_set(job_dir) == override_set(overrides)


def failure_record(job_dir: Path) -> dict | None:
    """``FAILED_FILE`` as written by ``write_failure`` ({"error", "kind", "overrides"?, "signal"?}), or None."""
    failure = _object(Path(job_dir) / FAILED_FILE)
    return failure if failure is not None and failure.get("error") is not None else None


def read_failure(job_dir: Path) -> str | None:
    """Why the job failed, as ``FAILED_FILE`` says, or None."""
    failure = failure_record(job_dir)
    return str(failure["error"]) if failure is not None else None


@dataclass
class JobState:
    """What a job dir holds, by the one rule every reader applies (``job_state``)."""

    status: str  # "complete" | "failed" | "none"
    error: str | None = None  # why the job that last ran here failed
    note: str | None = None  # a complete result beside a failure (kept; which job it belongs to)


def job_state(job_dir: Path) -> JobState:
    """A complete result is the dir's state unless a later job with *other* overrides failed here: then the
    dir is that job's, failed, and the earlier result (kept in place, never deleted by the failure) is a note.
    A failed rerun of the same job leaves its earlier result standing (``resume=true`` skips it too)."""
    failure = failure_record(job_dir)
    if not is_complete(job_dir):
        return JobState("failed", str(failure["error"])) if failure else JobState("none")
    if failure is None:
        return JobState("complete")
    saved, theirs = saved_override_set(job_dir), failure.get("overrides")
    if isinstance(theirs, list) and saved is not None and override_set(theirs) != saved:
        return JobState("failed", str(failure["error"]),
                        f"holds an earlier complete result of other overrides ({' '.join(saved) or 'none'}), kept")
    return JobState("complete", note=f"a later rerun of this job failed ({failure['error']}); this result stands")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hydra_copy(job_dir: Path) -> dict:
    files = {}
    for name in HYDRA_FILES:
        try:
            files[name] = (Path(job_dir) / ".hydra" / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass
    return files


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def settle(job_dir: Path) -> None:
    """Finish what a writer killed mid-way left: a complete staged result is moved into place (metrics last),
    an incomplete one removed."""
    job_dir, staged = Path(job_dir), Path(job_dir) / STAGED_DIR
    if not staged.exists():
        return
    if (staged / METRICS_FILE).is_file():
        for name in (*RESULT_FILES, JOB_FILE, METRICS_FILE):
            if (staged / name).is_file():
                os.replace(staged / name, job_dir / name)
        _fsync_dir(job_dir)
    shutil.rmtree(staged, ignore_errors=True)


def write_result(job_dir: Path, metrics: dict, scores_csv: str, overrides=None, exposure_csv: str | None = None) -> None:
    """A completed run's files: written aside (scores, exposure, job record, metrics), then moved into place,
    metrics last; a failure record left by an earlier attempt goes once the new result is in place."""
    job_dir = Path(job_dir)
    settle(job_dir)
    staged = job_dir / STAGED_DIR
    try:
        staged.mkdir(parents=True, exist_ok=True)
        atomic_write_text(staged / SCORES_FILE, scores_csv)
        if exposure_csv is not None:
            atomic_write_text(staged / EXPOSURE_FILE, exposure_csv)
        if overrides is not None:
            atomic_write_json(staged / JOB_FILE, {"overrides": override_set(overrides), "hydra": _hydra_copy(job_dir)})
        atomic_write_json(staged / METRICS_FILE, {**metrics, "scores_sha256": sha256_text(scores_csv)})
        _fsync_dir(staged)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)  # nothing partial: the earlier result, if any, is untouched
        raise
    settle(job_dir)
    (job_dir / FAILED_FILE).unlink(missing_ok=True)


def write_failure(job_dir: Path, error: str, kind: str, overrides=None, **details) -> None:
    """Why a job failed (and which overrides it ran); a completed result already in ``job_dir`` (an earlier
    run's) is left as it was."""
    record = {"error": error, "kind": kind, **details}
    if overrides is not None:
        record["overrides"] = override_set(overrides)
    atomic_write_json(Path(job_dir) / FAILED_FILE, record)


def restore_hydra(job_dir: Path) -> bool:
    """Put back the ``.hydra/`` files of the complete result in ``job_dir`` (Hydra rewrote them for a run that
    then failed there): the dir is again exactly the earlier job's. False when there is nothing to restore."""
    if not is_complete(job_dir):
        return False
    files = (_object(result_file(job_dir, JOB_FILE)) or {}).get("hydra")
    if not isinstance(files, dict) or not files:
        return False
    for name, text in files.items():
        if name in HYDRA_FILES and isinstance(text, str):
            atomic_write_text(Path(job_dir) / ".hydra" / name, text)
    return True
