"""What .ci/run prints at its end: which optional suites ran, which were skipped, and why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from tests.optional_suites import SUITES, summary
from tests.test_sweep_launchers import _ray_python

ROOT = Path(__file__).parent.parent


def _record(marks: str, suites: dict) -> dict:
    return {"time": 0.0, "marks": marks, "suites": suites}


def test_the_summary_names_each_suite_once_with_its_skip_reasons():
    records = [
        _record("not slow", {"GPU": {"ran": [], "skipped": {"a": "no CUDA", "b": "no CUDA"}}}),
        _record(
            "slow",
            {
                "SLURM": {"ran": ["c", "d"], "skipped": {}},
                "browser": {"ran": ["e"], "skipped": {"f": "no chromium"}},
            },
        ),
    ]
    assert summary(records) == [
        "  SLURM: ran (2 tests)",
        "  browser: ran (1 test, 1 skipped)",
        "    skipped: no chromium (1x)",
        "  zh font: not run (no test of it was selected)",
        "  GPU: skipped (2 tests)",
        "    skipped: no CUDA (2x)",
        "  Ray: not run (no test of it was selected)",
    ]
    assert SUITES == ("SLURM", "browser", "zh font", "GPU", "Ray")


def test_a_pytest_session_records_its_optional_suites_for_the_report(tmp_path):
    """A session of its own, with its own cache: a GPU case and the Ray test, each skipped
    here (or run, where the machine has it); no SLURM test selected."""
    cache = tmp_path / "cache"
    selected = [
        "tests/test_resident.py::test_host_backends_cross_without_copying",
        "tests/test_resident.py::test_the_arrays_a_run_returns_keep_their_bytes_while_the_"
        "backend_works_on",
        "tests/test_sweep_launchers.py::test_ray_launcher",
    ]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-o", "addopts="]
    command += ["-o", f"cache_dir={cache}", *selected]
    session = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert session.returncode == 0, session.stdout[-3000:]
    command = [sys.executable, "-m", "tests.optional_suites", "--cache-dir", str(cache)]
    report = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    lines = report.stdout.splitlines()
    assert lines[0] == "optional suites (pytest sessions: -m 'all'):"
    gpu = "  GPU: ran (1 test)" if torch.cuda.is_available() else "  GPU: skipped (1 test)"
    assert gpu in lines
    if not torch.cuda.is_available():
        assert "    skipped: torch sees no CUDA device (1x)" in lines
    if _ray_python() is None:
        assert "  Ray: skipped (1 test)" in lines
        reason = "    skipped: hydra-ray-launcher is not installed"
        assert any(line.startswith(reason) for line in lines)
    else:
        assert "  Ray: ran (1 test)" in lines
    assert "  SLURM: not run (no test of it was selected)" in lines
