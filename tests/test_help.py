"""`xopipe --help`: Hydra's text for xopipe's template, in a fraction of a run's time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import run_cli
from xopipe.help_text import quick_help


def test_quick_help_is_the_text_hydra_prints():
    through_hydra = run_cli("--help")
    assert through_hydra.code == 0
    assert quick_help(["--help"]) == through_hydra.stdout
    assert quick_help(["-h"]) == through_hydra.stdout
    assert "tables.formats" in through_hydra.stdout


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["backend=torch"],
        ["--hydra-help"],
        ["--help", "hydra.help.template=mine"],
        ["--help", "--config-dir", "elsewhere"],
        ["--help", "--cfg", "job"],
    ],
)
def test_hydra_answers_whatever_could_change_the_text(argv):
    assert quick_help(argv) is None


def _seconds(*args: str, cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "xopipe", *args], cwd=cwd, capture_output=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return time.perf_counter() - start


@pytest.mark.slow
def test_help_takes_at_most_1_5_times_a_run_without_figures(tmp_path):
    helps, runs = [], []
    for turn in range(3):  # in turns, best of each: the machine is shared
        helps.append(_seconds("--help", cwd=tmp_path))
        runs.append(_seconds("figures=none", f"hydra.run.dir={tmp_path / str(turn)}", cwd=tmp_path))
    assert min(helps) <= 1.5 * min(runs), (helps, runs)
