"""A sweep's console is what the README shows: a note, progress lines, the verdict."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from xopipe.figures.settings import SWEEP_NOTE

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("workers", ["hydra.launcher.n_jobs=1", "hydra.launcher.n_jobs=2"])
def test_the_sweep_console_has_no_launcher_or_per_job_lines(tmp_path, workers):
    folder = tmp_path / "sweep"
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "xopipe",
            "-m",
            "backend=numpy,loop",
            workers,
            "hydra.callbacks.sweep_summary.progress=true",
            f"hydra.sweep.dir={folder}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    err = result.stderr.splitlines()
    assert err[0] == f"note: {SWEEP_NOTE}"
    assert all(re.fullmatch(r"\[[12]/2\] complete \d+\.\d\d s  backend=\w+", ln) for ln in err[1:3])
    assert err[3:] == [f"summarizing the sweep in {folder} ..."]
    assert result.stdout.splitlines() == [
        "backends agree: 10 grids within tolerance in 1 pair",
        f"report: {folder / 'diff_report.md'} (and .html), {folder / 'diff.csv'}",
        f"summary: {folder / 'summary.parquet'}",
    ]
    for job in ("0", "1"):  # each job's own line is in its log
        assert f"wrote 18 files to {folder / job}" in (folder / job / "xopipe.log").read_text()
