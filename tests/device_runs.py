"""One config run by the torch backend in two fresh processes on one device.

Each process builds its own input and weights, so the two runs share
nothing but the config: their tables must match byte for byte, and the
NumPy backend, run here on a copy built in this process, within the diff
report's tolerance.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tests.conftest import compose_config
from xopipe.backends import get_backend
from xopipe.experiment import build_experiment, execute

# diff.atol / diff.rtol defaults: what a sweep's diff report calls agreement.
AGREE = {np.dtype("float64"): 1e-9, np.dtype("float32"): 1e-5}


def run_in_a_process(folder: Path, overrides: Sequence[str], device: str) -> Path:
    command = [
        *(sys.executable, "-m", "xopipe", *overrides, "backend=torch"),
        *(f"backend.device={device}", "tables.formats=[parquet,npy]", "figures=none"),
        *("print_matrices=false", f"hydra.run.dir={folder}"),
    ]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    result = subprocess.run(command, cwd=folder.parent, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def tables(folder: Path) -> dict[str, bytes]:
    names = ["matrices.parquet", "weights.parquet"]
    names += [f"matrices/{p.name}" for p in sorted((folder / "matrices").glob("*.npy"))]
    names += [f"weights/{p.name}" for p in sorted((folder / "weights").glob("*.npy"))]
    return {name: (folder / name).read_bytes() for name in names}


def assert_two_processes_agree(tmp_path: Path, overrides: Sequence[str], device: str) -> None:
    first = run_in_a_process(tmp_path / "first", overrides, device)
    second = run_in_a_process(tmp_path / "second", overrides, device)
    files = tables(first)
    assert files == tables(second)

    experiment = build_experiment(compose_config([*overrides, "backend=numpy"]))
    reference = execute(experiment, get_backend("numpy")).arrays
    stored = {p.stem for p in (first / "matrices").glob("*.npy")}
    assert stored == set(reference)  # the input and every stage
    tol = AGREE[experiment.dtype]
    for name, expected in reference.items():
        got = np.load(first / "matrices" / f"{name}.npy")  # tables hold float64
        assert got.shape == expected.shape, name
        # computed in the run's dtype: every stored value is one of that dtype's
        assert got.astype(experiment.dtype).astype(got.dtype).tobytes() == got.tobytes(), name
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=name)
