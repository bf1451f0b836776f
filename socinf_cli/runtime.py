"""Process-level settings of one job: where data lives, how many threads it may use, progress bars."""
from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable


def original_cwd() -> Path:
    """The directory socinf was started in (Hydra may change the working directory)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            return Path(HydraConfig.get().runtime.cwd)
    except Exception:  # noqa: BLE001 - outside a Hydra app
        pass
    return Path.cwd()


def data_root(cfg) -> Path:
    root = Path(cfg.data.root).expanduser()
    return root if root.is_absolute() else original_cwd() / root


def stage_cache(cfg):
    """The run's stage cache: ``cache.dir``, default ``<data.root>/cache/stages``; off with ``cache.enabled=false``."""
    from socinf_cli.cache import StageCache

    if not cfg.cache.enabled:
        return StageCache(None)
    return StageCache(Path(cfg.cache.dir) if cfg.cache.dir else data_root(cfg) / "cache" / "stages")


def limit_threads(n: int) -> None:
    """Cap torch, BLAS/OpenMP and XGBoost threads of this job, so parallel sweep jobs don't oversubscribe."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)


def progress_factory() -> Callable[[str, int], Callable[[int, int], None]] | None:
    """A rich progress bar per long stage, only on an interactive terminal."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import Progress

    def start(description: str, total: int) -> Callable[[int, int], None]:
        bar = Progress(transient=True)
        task = bar.add_task(description, total=total)
        bar.start()

        def tick(done: int, total_: int) -> None:
            bar.update(task, completed=done)
            if done >= total_:
                bar.stop()

        return tick

    return start


@contextmanager
def abort_on_interrupt():
    """scikit-learn's MLP swallows Ctrl-C and returns a half-trained model: remember the signal and abort
    instead, so neither the server nor the stage cache ever holds a half-trained model."""
    interrupted = []

    def handler(signum, frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt
