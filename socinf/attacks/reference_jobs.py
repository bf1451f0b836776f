"""Where reference models train: here, ``threads`` at a time, or as jobs on a SLURM cluster (submitit).

A reference model is fully described by a ``ReferenceSpec``: its cache key, the pool rows and candidate rows
it trains on and its estimator seed (``references.py`` draws them). Every reference is trained with one thread
(``fit_reference``), so a model is the same wherever it was trained: here, several run side by side
(``threads``); on SLURM (``ReferenceJobs(launcher="slurm")``), an array job whose tasks each train
``references_per_job`` of them. Each model is stored in the stage cache as soon as it is trained
(``StageCache``: arrays, never a pickle), which is also how SLURM jobs hand their models back: the cache
directory must be one every node can reach. A model already in the cache is never trained again, and
parallel jobs that need the same one take turns on its lock.

The jobs read the records from one ``.npz`` (``allow_pickle=False``) written beside submitit's own files;
submitit itself pickles the job's function and specs into that folder, which only this run writes and reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional

import numpy as np

from socinf.errors import ConfigError, SocinfError
from socinf.settings import MAPPING, TEXT, Interval, ListOf, Options

LAUNCHERS = ("local", "slurm")
STAGE = "reference"


@dataclass
class ReferenceJobs:
    """``reference_jobs=``: where reference models train. ``slurm``: submitit array jobs with these resources."""

    launcher: str = "local"  # local (this process, `threads` at a time) | slurm
    partition: Optional[str] = None  # slurm: None = the cluster's default partition
    timeout_min: int = 60  # slurm: per job
    mem_gb: float = 2.0  # slurm: per job
    references_per_job: int = 8  # slurm: references one array task trains
    array_parallelism: int = 64  # slurm: at most this many tasks at once
    setup: List[str] = field(default_factory=list)  # slurm: shell lines before each job (modules, env)
    additional_parameters: Dict[str, Any] = field(default_factory=dict)  # slurm: any other sbatch option
    folder: Optional[str] = None  # slurm: submitit's scripts and logs (default <cache dir>/../reference_jobs)

    constraints: ClassVar[dict] = {
        "launcher": [Options(LAUNCHERS)], "partition": [None, TEXT], "timeout_min": [Interval(int, 1, 10**6)],
        "mem_gb": [Interval(float, 0, 10**5, "right")], "references_per_job": [Interval(int, 1, 10**6)],
        "array_parallelism": [Interval(int, 1, 10**6)], "setup": [ListOf(TEXT)], "additional_parameters": [MAPPING],
        "folder": [None, TEXT],
    }


@dataclass
class ReferenceSpec:
    """One reference model: cache ``key``, training ``rows`` of the pool and ``cand`` of the candidates, ``seed``."""

    index: int
    key: str
    rows: np.ndarray
    cand: np.ndarray
    seed: int


@dataclass
class ReferenceData:
    """The records references train on: the pool (X, y) and the candidates (X_cand, y_cand; may be empty)."""

    X: np.ndarray
    y: np.ndarray
    X_cand: np.ndarray
    y_cand: np.ndarray


def fit_reference(spec: ReferenceSpec, algorithm, params: dict, data: ReferenceData, n_classes: int):
    """(model, pool rows): ``algorithm`` with ``params`` fitted, one thread, on the spec's records."""
    from socinf.owner.models import fit_local_model

    from socinf.sparse import stack

    X = stack([data.X[spec.rows], data.X_cand[spec.cand]])
    y = np.concatenate([data.y[spec.rows], data.y_cand[spec.cand]]).astype(int)
    missing = sorted(set(range(n_classes)) - set(np.unique(y).tolist()))
    if missing:
        raise ConfigError(f"reference model {spec.index}: its {len(y)} training records hold no record of class "
                          f"{missing[0]}; give the references more records of every class")
    return fit_local_model(algorithm, params, X, y, seed=spec.seed, threads=1), spec.rows


def train_all(specs: list[ReferenceSpec], algorithm, params: dict, data: ReferenceData, n_classes: int,
              ctx) -> list[tuple]:
    """Every spec's (model, rows), in order: fitted earlier in this run (``ctx.models``), from the cache, else
    trained (here or on SLURM) and cached."""
    values = _load_or_train(specs, algorithm, params, data, n_classes, ctx)
    ctx.models.update((s.key, v) for s, v in zip(specs, values))
    return values


def _load_or_train(specs: list[ReferenceSpec], algorithm, params: dict, data: ReferenceData, n_classes: int,
                   ctx) -> list[tuple]:
    cache = ctx.cache
    values = [ctx.models.get(s.key) or cache.load(STAGE, s.key) for s in specs]
    missing = [s for s, v in zip(specs, values) if v is None]
    jobs = ctx.reference_jobs
    if missing and jobs is not None and jobs.launcher == "slurm":
        _train_on_slurm(missing, algorithm, params, data, n_classes, cache, jobs)
        trained = {s.key: cache.load(STAGE, s.key) for s in missing}
        lost = [s.index for s in missing if trained[s.key] is None]
        if lost:
            raise SocinfError(f"reference_jobs.launcher=slurm: the jobs ended but references {lost[:5]} are not in "
                              f"the stage cache {cache.root} (a cache dir the nodes cannot reach?)")
    elif missing:
        trained = _train_here(missing, algorithm, params, data, n_classes, cache, ctx.threads, ctx.progress)
    else:
        trained = {}
    return [v if v is not None else trained[s.key] for s, v in zip(specs, values)]


def _train_here(specs, algorithm, params, data, n_classes, cache, threads: int, progress) -> dict:
    """Train ``specs`` in this process, ``threads`` models at a time (each one thread: BLAS pools capped)."""
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_limits

    tick = progress("reference models", len(specs)) if progress else None
    done = []

    def one(spec):
        value, _ = cache.get_or_compute(STAGE, spec.key, lambda: fit_reference(spec, algorithm, params, data, n_classes),
                                        {"index": spec.index, "algorithm": str(algorithm), "params": params})
        done.append(spec.key)
        if tick is not None:
            tick(len(done), len(specs))
        return spec.key, value

    with threadpool_limits(1):  # XGBoost releases the GIL while it trains: threads, not processes
        pairs = Parallel(n_jobs=min(threads, len(specs)), backend="threading")(delayed(one)(s) for s in specs)
    return dict(pairs)


def run_reference_job(data_path: str, cache_root: str, specs: list[ReferenceSpec], algorithm, params: dict,
                      n_classes: int) -> list[str]:
    """A SLURM task: train ``specs`` one thread each into the stage cache at ``cache_root``; their keys."""
    import os

    from threadpoolctl import threadpool_limits

    from socinf.cache import StageCache

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    from socinf.sparse import from_npz

    with np.load(data_path, allow_pickle=False) as f:
        data = ReferenceData(from_npz(f, "X"), f["y"], from_npz(f, "X_cand"), f["y_cand"])
    cache = StageCache(Path(cache_root))
    with threadpool_limits(1):
        for spec in specs:
            cache.get_or_compute(STAGE, spec.key, lambda s=spec: fit_reference(s, algorithm, params, data, n_classes),
                                 {"index": spec.index, "algorithm": str(algorithm), "params": params})
    return [s.key for s in specs]


def _write_data(folder: Path, data: ReferenceData) -> Path:
    import hashlib
    import io

    from socinf.io import atomic_write_bytes
    from socinf.sparse import to_npz

    buffer = io.BytesIO()  # CSR records as their arrays: the jobs load them with allow_pickle=False
    np.savez(buffer, **to_npz("X", data.X), y=data.y, **to_npz("X_cand", data.X_cand), y_cand=data.y_cand)
    blob = buffer.getvalue()
    path = folder / f"records-{hashlib.sha256(blob).hexdigest()[:16]}.npz"
    if not path.exists():
        atomic_write_bytes(path, blob)
    return path


def _executor(jobs: ReferenceJobs, folder: Path):
    try:
        import submitit
    except ImportError:
        raise ConfigError("reference_jobs.launcher=slurm needs submitit: pip install 'socinf[slurm]'") from None
    executor = submitit.AutoExecutor(folder=folder / "%j", cluster="slurm")
    executor.update_parameters(timeout_min=jobs.timeout_min, mem_gb=jobs.mem_gb, cpus_per_task=1, nodes=1,
                               tasks_per_node=1, slurm_partition=jobs.partition,
                               slurm_array_parallelism=jobs.array_parallelism, slurm_setup=list(jobs.setup),
                               slurm_additional_parameters=dict(jobs.additional_parameters))
    return executor


def _train_on_slurm(specs, algorithm, params, data, n_classes, cache, jobs: ReferenceJobs) -> None:
    """Submit ``specs`` as one array job, ``references_per_job`` per task, and wait for every task."""
    if cache.root is None:
        raise ConfigError("reference_jobs.launcher=slurm: the jobs hand their models back through the stage cache; "
                          "set cache.enabled=true (and a cache.dir every node can reach)")
    folder = Path(jobs.folder) if jobs.folder else cache.root.parent / "reference_jobs"
    folder.mkdir(parents=True, exist_ok=True)
    data_path = _write_data(folder, data)
    n = jobs.references_per_job
    chunks = [specs[k:k + n] for k in range(0, len(specs), n)]
    executor = _executor(jobs, folder)
    submitted = executor.map_array(run_reference_job, [str(data_path)] * len(chunks),
                                   [str(cache.root)] * len(chunks), chunks, [algorithm] * len(chunks),
                                   [params] * len(chunks), [n_classes] * len(chunks))
    for job in submitted:
        try:
            job.result()
        except Exception as exc:  # noqa: BLE001 - submitit's FailedJobError / UncompletedJobError, or the job's own
            last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise SocinfError(f"reference_jobs.launcher=slurm: job {job.job_id} failed: {last} "
                              f"(log: {folder / str(job.job_id)})") from None
