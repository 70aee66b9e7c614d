"""A real sweep's summary.parquet: failed jobs beside the others' cells; a preset's axes.

A sweep with a failing job summarizes and compares the others, reports the
failure and exits 1; the geometry preset sweeps its eight points.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from tests.real_sweeps import assert_summary_matches_runs, progress_lines, sweep

pytestmark = pytest.mark.slow


def test_sweep_with_a_failing_job_summarizes_the_others(tmp_path):
    folder, result = sweep(tmp_path, "backend=numpy,torch", "conv.stride=1,0")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    statuses = [
        json.loads((folder / str(job) / "manifest.json").read_text())["status"] for job in range(4)
    ]
    assert statuses == ["complete", "failed", "complete", "failed"]
    assert_summary_matches_runs(folder)
    frame = pq.read_table(folder / "summary.parquet").to_pandas()
    failed = frame[frame.status == "failed"]
    assert failed.job.tolist() == [1, 3] and failed["conv.stride"].tolist() == [0, 0]
    assert failed.error.str.contains("conv.stride must be a positive integer").all()
    verdict = "backends agree: 10 grids within tolerance in 1 pair; 2 of 4 jobs failed (skipped)"
    assert verdict in result.stdout.splitlines()
    report = (folder / "diff_report.md").read_text()
    assert "## Failed jobs (skipped)" in report
    assert "| 1 | 1 | backend=numpy conv.stride=0 print_matrices=False figures=none |" in report
    lines = progress_lines(result.stderr)
    assert len(lines) == 4 and sum(" failed " in line for line in lines) == 2


def test_geometry_preset_sweeps_eight_points(tmp_path):
    folder, result = sweep(tmp_path, "+sweep=geometry")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = progress_lines(result.stderr)
    assert [line.split()[0] for line in lines] == [f"[{n}/8]" for n in range(1, 9)]
    schema = pq.read_schema(folder / "summary.parquet")
    assert {"conv.stride", "conv.padding", "pool.size"} <= set(schema.names)
    assert str(schema.field("pool.size").type) == "int64"
    assert_summary_matches_runs(folder)
