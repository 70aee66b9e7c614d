"""Threads inside a job: the NumPy backend's and torch's take the job's share of the cores in a
sweep that runs jobs side by side, and a dask tile's NumPy code stays on its worker's thread."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from xopipe import cores
from xopipe.backends import get_backend, numpy_threads
from xopipe.backends.numpy_threads import one_thread, thread_count

# 3 kernels of 3x3 on 400^2: 4.3M multiply-adds, past numpy_conv.THREADS_MIN_MACS.
X = np.random.default_rng(0).uniform(-1, 1, (1, 400, 400))
W = np.random.default_rng(1).uniform(-1, 1, (3, 1, 3, 3))
CONV = dict(
    stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, padding_mode="zeros", divisor=9.0
)


@pytest.fixture
def eight_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    for name in (cores.SWEEP_WORKERS, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _thread_counts(monkeypatch) -> list[int]:
    """The thread count asked of the NumPy backend's pool, call by call from here on."""
    counts: list[int] = []
    original = numpy_threads.WORKERS.run

    def spy(work, parts, count):
        counts.append(count)
        return original(work, parts, count)

    monkeypatch.setattr(numpy_threads.WORKERS, "run", spy)
    return counts


@pytest.mark.parametrize(("jobs", "threads"), [(None, 8), ("2", 4), ("3", 2), ("16", 1)])
def test_numpy_threads_are_the_jobs_share(eight_cores, jobs, threads):
    if jobs is not None:
        eight_cores.setenv(cores.SWEEP_WORKERS, jobs)
    assert thread_count() == threads
    counts = _thread_counts(eight_cores)
    get_backend("numpy").conv2d(X, W, np.zeros(3), **CONV)
    assert counts == [threads]


def test_one_thread_holds_on_its_thread_and_undoes_itself(eight_cores):
    with one_thread():
        assert thread_count() == 1
        with one_thread():
            assert thread_count() == 1
        assert thread_count() == 1
    assert thread_count() == 8


@pytest.mark.parametrize("scheduler", ["threads", "synchronous"])
def test_a_dask_tile_runs_numpy_on_its_workers_thread(eight_cores, scheduler):
    counts = _thread_counts(eight_cores)
    numpy = get_backend("numpy").conv2d(X, W, np.zeros(3), **CONV)
    assert counts == [8]
    counts.clear()
    backend = get_backend("dask", chunks=2048, scheduler=scheduler)
    (tiled,) = backend.compute(backend.conv2d(backend.to_backend(X), W, np.zeros(3), **CONV))
    np.testing.assert_array_equal(tiled, numpy)
    assert counts == [1]  # one tile: its conv on the worker's thread alone


@pytest.mark.parametrize(
    ("jobs", "num_threads", "expected"),
    [("2", None, [4]), ("4", None, [2]), ("2", 3, [3]), (None, None, []), (None, 5, [5])],
)
def test_torch_takes_the_jobs_share_unless_told(eight_cores, jobs, num_threads, expected):
    if jobs is not None:
        eight_cores.setenv(cores.SWEEP_WORKERS, jobs)
    set_to: list[int] = []
    eight_cores.setattr(torch, "set_num_threads", set_to.append)
    get_backend("torch", num_threads=num_threads)
    assert set_to == expected
