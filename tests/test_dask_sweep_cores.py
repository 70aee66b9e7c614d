"""A sweep's backend=dask jobs share the cores: each local scheduler gets cores // jobs at once.

hydra/launcher=xopipe tells each forked worker how many run (XOPIPE_SWEEP_WORKERS);
joblib's loky workers get OMP_NUM_THREADS = cores // n_jobs. A single run keeps
every core; a cluster's workers bound a job themselves (no local pool).
"""

from __future__ import annotations

import os
import re

import dask
import numpy as np
import pytest

from tests.real_sweeps import sweep
from xopipe import cores
from xopipe.backends import get_backend
from xopipe.chunked import first_nonfinite


@pytest.fixture
def eight_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    settings = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    for name in (cores.SWEEP_WORKERS, *settings):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("variables", "share"),
    [
        ({}, 8),  # a single run: every core
        ({cores.SWEEP_WORKERS: "2"}, 4),
        ({cores.SWEEP_WORKERS: "3"}, 2),
        ({cores.SWEEP_WORKERS: "16"}, 1),  # never none
        ({cores.SWEEP_WORKERS: "1"}, 8),
        ({"OMP_NUM_THREADS": "4"}, 4),  # joblib's loky worker with n_jobs=2
        ({cores.SWEEP_WORKERS: "junk"}, 8),
    ],
)
def test_a_jobs_share_is_the_cores_over_the_jobs_at_once(eight_cores, variables, share):
    for name, value in variables.items():
        eight_cores.setenv(name, value)
    assert cores.job_share() == share


def _given(monkeypatch) -> list[dict]:
    """The keyword arguments of every dask.compute call from here on."""
    calls: list[dict] = []
    original = dask.compute

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(dask, "compute", spy)
    return calls


@pytest.mark.parametrize(("jobs", "workers"), [(None, 8), ("2", 4), ("4", 2)])
@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_the_local_scheduler_gets_the_jobs_share(eight_cores, scheduler, jobs, workers):
    if jobs is not None:
        eight_cores.setenv(cores.SWEEP_WORKERS, jobs)
    calls = _given(eight_cores)
    backend = get_backend("dask", chunks=4, scheduler=scheduler)
    x = backend.to_backend(np.arange(2 * 9 * 7, dtype=float).reshape(2, 9, 7))
    (out,) = backend.compute(backend.activation("relu", x - 50, {}))
    np.testing.assert_array_equal(out, np.maximum(np.arange(126.0).reshape(2, 9, 7) - 50, 0))
    assert calls == [{"scheduler": scheduler, "num_workers": workers}]


def test_synchronous_and_a_cluster_get_no_pool_size(eight_cores):
    eight_cores.setenv(cores.SWEEP_WORKERS, "2")
    assert get_backend("dask", scheduler="synchronous").workers is None
    assert get_backend("dask", address="tcp://127.0.0.1:1").workers is None


def test_the_npy_finite_check_takes_the_share_too(eight_cores):
    import dask.array as da

    eight_cores.setenv(cores.SWEEP_WORKERS, "2")
    calls: list[dict] = []
    original = dask.base.compute

    def spy(*args, **kwargs):  # what Array.compute calls
        calls.append(kwargs)
        return original(*args, **kwargs)

    eight_cores.setattr(dask.base, "compute", spy)
    grid = da.from_array(np.ones((1, 6, 6)), chunks=(1, 3, 3))
    assert first_nonfinite(grid) is None
    assert [call.get("num_workers") for call in calls] == [4]


WORKERS_LINE = re.compile(
    r"dask: threads scheduler with (\d+) workers \((\d+) cores(?:, (\d+) sweep jobs at once)?\)"
)
DASK_SWEEP = ["backend=dask", "backend.chunks=16", "input=random", "input.shape=[40,40]"]
DASK_SWEEP += ["input.seed=1,2"]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["xopipe", "joblib"])
def test_two_dask_jobs_at_once_each_take_half_the_cores(tmp_path, launcher):
    folder, result = sweep(
        tmp_path, *DASK_SWEEP, f"hydra/launcher={launcher}", "hydra.launcher.n_jobs=2"
    )
    assert result.returncode == 0, result.stderr
    share = max(1, cores.thread_count() // 2)
    lines = [WORKERS_LINE.search((folder / job / "xopipe.log").read_text()) for job in ("0", "1")]
    assert all(lines), [(folder / job / "xopipe.log").read_text() for job in ("0", "1")]
    assert [int(line.group(1)) for line in lines] == [share, share]
    if launcher == "xopipe":  # joblib's workers see a core each (loky caps their threads)
        assert [line.group(3) for line in lines] == ["2", "2"]


@pytest.mark.slow
def test_a_single_run_keeps_every_core(tmp_path):
    from tests.real_sweeps import QUIET, run

    result = run(*DASK_SWEEP[:-1], *QUIET, f"hydra.run.dir={tmp_path / 'one'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = WORKERS_LINE.search((tmp_path / "one" / "xopipe.log").read_text())
    assert line is not None and int(line.group(1)) == cores.thread_count()
    assert line.group(3) is None  # "(N cores)": no sweep to share them with
