"""Process-level settings of one job: how many threads it may use, progress bars, Ctrl-C during training."""
from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from collections import Counter
from contextlib import contextmanager
from typing import Callable


def limit_threads(n: int) -> None:
    """Cap BLAS/OpenMP, XGBoost and torch threads of this job, so parallel sweep jobs don't oversubscribe.

    torch is not imported for this (a run uses it only for the DP defenses): one imported later reads
    ``OMP_NUM_THREADS`` when it loads."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def progress_factory() -> Callable[[str, int | None], Callable[[int, int], None]] | None:
    """Rich progress for long stages, only on an interactive terminal (``None`` otherwise).

    ``start(description, total)`` adds a line to ONE shared, transient rich display (rich allows one live
    display at a time; stages nest, e.g. the GAN epochs inside "mimic") and returns ``tick(done, total)``;
    ``total=None`` is a stage without known length (a spinner with the elapsed time). The line goes when
    ``done >= total``; the display when no line is left.
    """
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=True)

    def start(description: str, total: int | None) -> Callable[[int, int], None]:
        if not bar.tasks:
            bar.start()
        task = bar.add_task(description, total=total)

        def tick(done: int, total_: int) -> None:
            bar.update(task, completed=done)
            if done >= total_:
                bar.remove_task(task)
                if not bar.tasks:
                    bar.stop()

        return tick

    return start


@contextmanager
def summarised_warnings(log, level: int = logging.WARNING):
    """Library warnings (e.g. scikit-learn's ConvergenceWarning, once per fitted model) summarised once:
    one log line per distinct warning with how often it occurred, instead of one stderr block each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # count every occurrence ...
        for category in (DeprecationWarning, PendingDeprecationWarning):  # ... of what Python shows by default
            warnings.filterwarnings("ignore", category=category)
        yield
    counts = Counter((w.category.__name__, str(w.message).splitlines()[0]) for w in caught)
    for (category, message), n in counts.items():
        log.log(level, "%s%s: %s", category, f" (x{n})" if n > 1 else "", message)


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
