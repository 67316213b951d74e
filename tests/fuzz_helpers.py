"""Shared by the fuzz tests (test_*_fuzz.py): Hypothesis settings, a time limit, fresh files.

Runs are reproducible and leave no files: ``derandomize=True`` and no example database.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import time
from pathlib import Path

from hypothesis import HealthCheck, settings

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Fail when the block runs longer than ``seconds``; SIGALRM breaks a real hang."""

    def hung(signum, frame):
        raise TimeoutError(f"{what}: still running after {seconds} s")

    alarm = hasattr(signal, "setitimer")
    if alarm:
        previous = signal.signal(signal.SIGALRM, hung)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.perf_counter()
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"{what}: {elapsed:.1f} s (limit {seconds} s)"


FILE_NUMBER = itertools.count()


def new_file(directory: Path, suffix: str, data: bytes) -> Path:
    """A new file ``f<n><suffix>`` in ``directory`` holding ``data``."""
    path = directory / f"f{next(FILE_NUMBER)}{suffix}"
    path.write_bytes(data)
    return path
