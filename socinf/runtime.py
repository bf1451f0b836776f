"""Process-level settings of one job: how many threads it may use, progress bars, Ctrl-C during training."""
from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from typing import Callable


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
