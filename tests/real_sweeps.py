"""Real sweeps in subprocesses, as a user runs them (`xopipe -m ...`), and what each must leave.

Every job's files, summary.parquet with every cell of every job, diff.csv and
the reports, one progress line per job and the verdict; a non-zero exit only
when a job failed. Used by test_sweep_*.py and test_slurm_*.py.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from xopipe.sinks.tables import read_parquet_arrays

# Progress lines go to a terminal only; these tests read them from a pipe.
QUIET = ["print_matrices=false", "figures=none"]
PROGRESS = "hydra.callbacks.sweep_summary.progress=true"
GRIDS_PER_RUN = 1 + 3 + 3 + 3  # input, conv, pool, activation channels of the seed


def run(*args: str, cwd: Path, module: str = "xopipe", python: str = sys.executable):
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    command = [python, "-m", module, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def sweep(tmp_path: Path, *args: str, name: str = "sweep", python: str = sys.executable):
    folder = tmp_path / name
    result = run(
        "-m", *args, *QUIET, PROGRESS, f"hydra.sweep.dir={folder}", cwd=tmp_path, python=python
    )
    return folder, result


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def progress_lines(stderr: str) -> list[str]:
    return re.findall(r"^\[\d+/[\d?]+\] .*$", stderr, flags=re.MULTILINE)


def assert_summary_matches_runs(folder: Path) -> None:
    """summary.parquet holds exactly the cells of each complete job's matrices.parquet."""
    frame = pq.read_table(folder / "summary.parquet").to_pandas()
    for job_dir in sorted(p for p in folder.iterdir() if p.name.isdigit()):
        manifest = json.loads((job_dir / "manifest.json").read_text())
        rows = frame[frame.job == int(job_dir.name)]
        assert (rows.status == manifest["status"]).all()
        if manifest["status"] != "complete":
            assert len(rows) == 1 and rows.error.item() == manifest["error"]
            continue
        arrays = read_parquet_arrays(job_dir / "matrices.parquet")
        assert len(rows) == sum(array.size for array in arrays.values())
        for stage, array in arrays.items():
            cells = rows[rows.stage == stage]
            index = [cells[n].to_numpy(dtype=np.int64) for n in ("channel", "row", "col")]
            grid = np.full(array.shape, np.nan)
            grid[tuple(index)] = cells.value.to_numpy()
            np.testing.assert_array_equal(grid, array)


def assert_three_backends_agree(folder: Path, result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    for job in range(3):
        manifest = json.loads((folder / str(job) / "manifest.json").read_text())
        assert manifest["status"] == "complete"
        assert manifest["backend"] == ("loop", "numpy", "torch")[job]
    assert_summary_matches_runs(folder)
    summary = pq.read_table(folder / "summary.parquet")
    assert summary.num_rows == 3 * (81 + 3 * 49 + 3 * 16 + 3 * 49)
    assert sorted(set(summary.column("backend").to_pylist())) == ["loop", "numpy", "torch"]
    rows = read_csv(folder / "diff.csv")
    assert len(rows) == 3 * GRIDS_PER_RUN
    assert {(r["run_a"], r["run_b"]) for r in rows} == {("0", "1"), ("0", "2"), ("1", "2")}
    assert all(r["ok"] == "true" and r["mismatched_cells"] == "0" for r in rows)
    assert {r["table"] for r in rows} == {"matrices"}  # no loss: values only
    verdict = "backends agree: 30 grids within tolerance in 3 pairs"
    out = result.stdout.splitlines()
    (report,) = [n for n, line in enumerate(out) if line.startswith("report: ")]
    assert out[report - 1] == verdict  # Ray may print its workers' last logs after
    assert (folder / "diff_report.md").read_text().splitlines()[2] == f"**{verdict}**"
    assert (folder / "diff_report.html").is_file()
    lines = progress_lines(result.stderr)
    assert len(lines) == 3
    assert [line.split()[0] for line in lines] == ["[1/3]", "[2/3]", "[3/3]"]
    assert all(re.fullmatch(r"\[\d/3\] complete \d+\.\d\d s  backend=\w+", ln) for ln in lines)
    assert sorted(line.rsplit("=", 1)[1] for line in lines) == ["loop", "numpy", "torch"]
