"""Sweeps draw no figures unless their command line asks (their speed is the bench's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xopipe.figures.settings import SWEEP_NOTE, figures_on_command_line

pytestmark = pytest.mark.slow

PROGRESS = "hydra.callbacks.sweep_summary.progress=true"


def xopipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    command = [sys.executable, "-m", "xopipe", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_which_overrides_ask_for_figures():
    assert figures_on_command_line(["backend=numpy", "figures=svg"])
    assert figures_on_command_line(["figures.cmap=gray"])
    assert figures_on_command_line(["+figures.animate=true"])
    assert not figures_on_command_line(["backend=numpy", "print_matrices=false", "explain=null"])


def test_a_default_sweep_draws_no_figures_and_says_so_once(tmp_path):
    folder = tmp_path / "sweep"
    result = xopipe("-m", "backend=numpy,loop", PROGRESS, f"hydra.sweep.dir={folder}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count(f"note: {SWEEP_NOTE}\n") == 1
    for job in ("0", "1"):
        assert not (folder / job / "figures").exists()
        record = manifest(folder / job)
        assert record["figures"] == "none" and record["status"] == "complete"
        assert "Figures are off in sweep jobs" in (folder / job / "report.html").read_text()


def test_a_sweep_that_names_figures_draws_them(tmp_path):
    folder = tmp_path / "sweep"
    result = xopipe(
        "-m",
        "backend=numpy,loop",
        "figures=svg",
        PROGRESS,
        f"hydra.sweep.dir={folder}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "note: figures are off" not in result.stderr
    for job in ("0", "1"):
        assert (folder / job / "figures" / "overview.svg").is_file()
        assert manifest(folder / job)["figures"] == "svg"


def test_the_sweeps_diff_report_keeps_its_heatmaps(tmp_path):
    """loop and numpy add 49 float32 products in different orders: cells differ, and show."""
    folder = tmp_path / "sweep"
    result = xopipe(
        "-m",
        "backend=loop,numpy",
        "dtype=float32",
        "diff.atol=0",
        "diff.rtol=0",
        "input=random",
        "input.shape=[24,24]",
        "kernels=random",
        "kernels.shape=[2,7,7]",
        f"hydra.sweep.dir={folder}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert any(line.startswith("backends differ:") for line in result.stdout.splitlines())
    assert not (folder / "0" / "figures").exists()
    assert (folder / "diff_report.html").read_text().count('src="data:image/png;base64,') >= 1


def test_a_30_job_default_sweep_finishes_with_every_job_complete(tmp_path):
    """How long it takes against one run is the bench's (python -m xopipe.bench, "Sweep")."""
    folder = tmp_path / "sweep"
    result = xopipe("-m", "conv.bias=range(0,30)", f"hydra.sweep.dir={folder}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(folder.glob("*/manifest.json"))
    assert len(jobs) == 30
    assert all(json.loads(job.read_text())["status"] == "complete" for job in jobs)
    assert not list(folder.glob("*/figures"))
