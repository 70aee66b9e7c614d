"""The cores this process may use, and a sweep job's share of them.

A sweep may run several jobs at once: hydra/launcher=xopipe forks its
workers with XOPIPE_SWEEP_WORKERS set to how many there are, and joblib's
loky workers (hydra/launcher=joblib) get OMP_NUM_THREADS and its kin set to
cores // n_jobs. A job takes its share, not every core: two jobs of
backend=dask on 8 cores run 4 workers each, not 8; the NumPy backend's
threads (numpy_threads.thread_count) and torch's are bounded alike.
"""

from __future__ import annotations

import os

# Set by hydra_plugins/xopipe_launcher in each worker it forks: how many jobs run at once.
SWEEP_WORKERS = "XOPIPE_SWEEP_WORKERS"
_THREAD_SETTINGS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_count() -> int:
    """The cores this process may use, capped by the libraries' thread settings."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    for name in _THREAD_SETTINGS:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            cores = min(cores, int(value))
    return max(1, cores)


def concurrent_jobs() -> int:
    """How many of a sweep's jobs run at once beside this one (1 outside such a sweep)."""
    value = os.environ.get(SWEEP_WORKERS, "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def job_share() -> int:
    """The workers a local scheduler may start: this job's share of the cores, at least 1."""
    return max(1, thread_count() // concurrent_jobs())
