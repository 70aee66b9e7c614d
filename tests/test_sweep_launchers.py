"""The seed across three backends sweeps alike on each launcher: basic, joblib, submitit_local, ray.

Each leaves the same summary, diff.csv, reports and progress lines, and exits 0.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from tests.real_sweeps import assert_three_backends_agree, sweep

pytestmark = pytest.mark.slow


def test_three_backends_sweep_agrees(tmp_path):
    folder, result = sweep(tmp_path, "backend=loop,numpy,torch")
    assert_three_backends_agree(folder, result)


def test_joblib_launcher(tmp_path):
    folder, result = sweep(
        tmp_path, "backend=loop,numpy,torch", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"
    )
    assert "Joblib.Parallel" in result.stdout + result.stderr
    assert_three_backends_agree(folder, result)


def test_submitit_local_launcher(tmp_path):
    folder, result = sweep(
        tmp_path,
        "backend=loop,numpy,torch",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
    )
    assert (folder / ".submitit").is_dir()  # the jobs ran as submitit jobs
    assert_three_backends_agree(folder, result)


def _ray_python() -> str | None:
    """A Python with the Ray launcher: this one, or XOPIPE_RAY_PYTHON (a separate venv)."""
    candidate = os.environ.get("XOPIPE_RAY_PYTHON")
    if candidate:
        return candidate
    if importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is not None:
        return sys.executable
    return None


@pytest.mark.needs("Ray")
@pytest.mark.skipif(
    _ray_python() is None,
    reason="hydra-ray-launcher is not installed here, nor XOPIPE_RAY_PYTHON set (README: Ray)",
)
def test_ray_launcher(tmp_path):
    python = _ray_python()
    assert python is not None
    folder, result = sweep(
        tmp_path, "backend=loop,numpy,torch", "hydra/launcher=ray", python=python
    )
    assert "Ray Launcher is launching 3 jobs" in result.stdout + result.stderr
    assert_three_backends_agree(folder, result)
