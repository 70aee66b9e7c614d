"""Real sweeps in subprocesses, as a user runs them: `xopipe -m ...` on each launcher.

Each sweep must leave every job's files, summary.parquet with every cell of
every job, diff.csv and the reports, print one progress line per job and the
verdict, and exit non-zero only when a job failed.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from xopipe.sinks.tables import read_parquet_arrays, write_parquet

pytestmark = pytest.mark.slow

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


def test_three_backends_sweep_agrees(tmp_path):
    folder, result = sweep(tmp_path, "backend=loop,numpy,torch")
    assert_three_backends_agree(folder, result)


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


def test_deliberate_difference_is_found_by_xopipe_diff(tmp_path):
    folder, result = sweep(tmp_path, "conv.bias=0,0.25")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nothing to compare" in result.stdout  # the two jobs differ in more than backend
    a, b = folder / "0", folder / "1"
    diff = run(str(a), str(b), "--out", str(tmp_path / "d"), cwd=tmp_path, module="xopipe.diff")
    assert diff.returncode == 1, diff.stderr
    assert diff.stdout.splitlines()[0] == (
        "runs differ: 9 of 10 grids beyond tolerance (conv, pool, activation), in 1 of 1 pair"
    )
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


def test_geometry_preset_sweeps_eight_points(tmp_path):
    folder, result = sweep(tmp_path, "+sweep=geometry")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = progress_lines(result.stderr)
    assert [line.split()[0] for line in lines] == [f"[{n}/8]" for n in range(1, 9)]
    schema = pq.read_schema(folder / "summary.parquet")
    assert {"conv.stride", "conv.padding", "pool.size"} <= set(schema.names)
    assert str(schema.field("pool.size").type) == "int64"
    assert_summary_matches_runs(folder)


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


@pytest.mark.skipif(_ray_python() is None, reason="hydra-ray-launcher is not installed")
def test_ray_launcher(tmp_path):
    python = _ray_python()
    assert python is not None
    folder, result = sweep(
        tmp_path, "backend=loop,numpy,torch", "hydra/launcher=ray", python=python
    )
    assert "Ray Launcher is launching 3 jobs" in result.stdout + result.stderr
    assert_three_backends_agree(folder, result)


def test_exit_status_of_a_failed_sweep_does_not_leak_into_the_next_call(tmp_path):
    from tests.cli import run_cli

    failed = run_cli("-m", "conv.stride=1,0", *QUIET, f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert failed.code == 1
    assert "1 of 2 jobs failed (skipped)" in failed.stdout
    again = run_cli(*QUIET, f"hydra.run.dir={tmp_path / 'run'}")
    assert again.code == 0


def test_progress_lines_go_to_a_terminal_only_unless_asked(tmp_path):
    folder = tmp_path / "auto"
    quiet = run("-m", "conv.stride=1,2", *QUIET, f"hydra.sweep.dir={folder}", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert progress_lines(quiet.stderr) == []  # stderr is a pipe here
    assert "summarizing the sweep" in quiet.stderr
    wrong = run(
        "-m",
        "conv.stride=1,2",
        *QUIET,
        "hydra.callbacks.sweep_summary.progress=sometimes",
        f"hydra.sweep.dir={tmp_path / 'wrong'}",
        cwd=tmp_path,
    )
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1] == (
        "error: hydra.callbacks.sweep_summary.progress must be auto, true or false, got 'sometimes'"
    )


def test_progress_lines_show_on_a_terminal(tmp_path):
    primary, secondary = os.openpty()  # stderr a terminal, as when a user types the command
    command = [sys.executable, "-m", "xopipe", "-m", "conv.stride=1,2", *QUIET]
    command.append(f"hydra.sweep.dir={tmp_path / 'tty'}")
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed: the process is done writing
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert process.wait(timeout=120) == 0
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert [line.split()[0] for line in progress_lines(text)] == ["[1/2]", "[2/2]"]


def test_without_progress_lines_each_failed_job_still_gets_its_line(tmp_path):
    result = run("-m", "conv.stride=1,0", *QUIET, f"hydra.sweep.dir={tmp_path / 's'}", cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: job 1 (conv.stride=0 print_matrices=False figures=none) failed: conv.stride "
        "must be a positive integer or a pair [h, w] of them, got 0"
    ]
    assert "Traceback" not in result.stderr
