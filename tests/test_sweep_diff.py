"""xopipe-diff on what real sweeps leave: a deliberate difference found, cell by cell.

Two jobs of one sweep, and one sweep against an earlier one with a regression
in a single cell.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.real_sweeps import GRIDS_PER_RUN, read_csv, run, sweep
from xopipe.sinks.tables import read_parquet_arrays, write_parquet

pytestmark = pytest.mark.slow


def test_deliberate_difference_is_found_by_xopipe_diff(tmp_path):
    folder, result = sweep(tmp_path, "conv.bias=0,0.25")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nothing to compare" in result.stdout  # the two jobs differ in more than backend
    a, b = folder / "0", folder / "1"
    diff = run(str(a), str(b), "--out", str(tmp_path / "d"), cwd=tmp_path, module="xopipe.diff")
    assert diff.returncode == 1, diff.stderr
    assert diff.stdout.splitlines()[0] == (
        "runs differ: 9 of 10 grids beyond tolerance (conv, pool, activation), in 1 of 1 pair: "
        "conv.bias=0 vs conv.bias=0.25"
    )
    report = (tmp_path / "d" / "diff_report.md").read_text()
    assert "### conv.bias=0 vs conv.bias=0.25\n" in report
    assert "Every cell of conv 0, conv 1, conv 2, pool 0, pool 1, pool 2 differs by 0.25" in report
    arrays_a = read_parquet_arrays(a / "matrices.parquet")
    arrays_b = read_parquet_arrays(b / "matrices.parquet")
    rows = read_csv(tmp_path / "d" / "diff.csv")
    assert len(rows) == GRIDS_PER_RUN
    for row in rows:
        grid_a = arrays_a[row["stage"]][int(row["channel"])]
        grid_b = arrays_b[row["stage"]][int(row["channel"])]
        beyond = np.abs(grid_a - grid_b) > 1e-9 + 1e-9 * np.abs(grid_b)
        assert float(row["max_abs_diff"]) == np.max(np.abs(grid_a - grid_b))
        assert int(row["mismatched_cells"]) == np.count_nonzero(beyond)
        assert row["ok"] == ("true" if not beyond.any() else "false")
    conv = [r for r in rows if r["stage"] == "conv"]
    assert all(r["mismatched_cells"] == "49" for r in conv)
    assert all(float(r["max_abs_diff"]) == pytest.approx(0.25, abs=1e-15) for r in conv)


def test_xopipe_diff_sweeps_today_against_last_month(tmp_path):
    args = ("backend=numpy,torch", "input=random", "input.shape=[12,10]")
    old, first = sweep(tmp_path, *args, name="old")
    new, second = sweep(tmp_path, *args, name="new")
    assert first.returncode == 0 and second.returncode == 0
    script = shutil.which("xopipe-diff", path=str(Path(sys.executable).parent))
    assert script, "the xopipe-diff console script is installed beside python"
    same = subprocess.run(
        [script, str(old), str(new), "--out", str(tmp_path / "same")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert same.returncode == 0, same.stderr
    assert same.stdout.startswith("sweeps agree: 20 grids within tolerance in 2 pairs")
    # A regression in one job of the new sweep: one cell of torch's pool moves.
    parquet = new / "1" / "matrices.parquet"
    arrays = read_parquet_arrays(parquet)
    arrays["pool"][2, 1, 3] += 1e-3
    write_parquet(parquet, arrays)
    changed = subprocess.run(
        [script, str(old), str(new), "--out", str(tmp_path / "changed")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert changed.returncode == 1
    (row,) = [r for r in read_csv(tmp_path / "changed" / "diff.csv") if r["ok"] == "false"]
    assert (row["run_a"], row["run_b"]) == (f"{old}/1", f"{new}/1")
    assert (row["stage"], row["channel"], row["worst_row"], row["worst_col"]) == (
        "pool",
        "2",
        "1",
        "3",
    )
    assert row["mismatched_cells"] == "1"
    before = read_parquet_arrays(old / "1" / "matrices.parquet")["pool"][2, 1, 3]
    assert float(row["max_abs_diff"]) == abs((before + 1e-3) - before)
    assert (row["backend_a"], row["backend_b"]) == ("torch", "torch")
