"""The large-run section: whole runs against plain processes writing as much, in rounds.

Its floors must make what a run makes: the same arrays' shapes, and for the CSV
floor the very bytes xopipe writes. Speed itself is not asserted.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import xopipe
from xopipe.bench import large_run
from xopipe.bench.__main__ import main
from xopipe.sinks.csv_grid import CSV_BLOCK_CELLS, write_csv_grid

SECONDS = r"[\d.]+ m?s"


def _floor(code: str) -> dict:
    """The floor script's functions, without running its main part."""
    names: dict = {"__name__": "floor"}
    exec(code, names)
    return names


def test_the_section_times_five_processes_and_three_ratios(tmp_path, capsys):
    out = tmp_path / "large.md"
    assert main(["--large-run", "--large-size", "64", "--rounds", "2", "--out", str(out)]) == 0
    text = out.read_text()
    assert text == capsys.readouterr().out.rstrip("\n") + "\n"
    assert "## A 64x64 float32 run against the disk's floor (whole processes, 2 rounds)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| process | median | lowest-highest |"
    assert [row.split("|")[1].strip() for row in rows[1:]] == list(large_run.PROCESSES)
    for row in rows[1:]:
        median, spread = (cell.strip() for cell in row.split("|")[2:4])
        assert re.fullmatch(SECONDS, median) and re.fullmatch(f"{SECONDS}-{SECONDS}", spread), row
    ratios = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(ratios) == 3
    for line, label in ((ratios[0], "parquet run"), (ratios[2], "dask parquet run")):
        assert re.fullmatch(
            rf"- {label} / np.save floor: [\d.]+, [\d.]+-[\d.]+ \(median, lowest-highest; "
            r"goal <= 1.5(; \*\*not steady\*\*: moved \d+%)?\)",
            line,
        )
    assert ratios[1].startswith("- csv run / text floor: ")


def test_the_floors_arrays_have_the_runs_shapes(tmp_path):
    with xopipe.run(
        "input=random", "input.shape=[20,20]", "dtype=float32", "figures=none", out_dir=tmp_path
    ) as result:
        shapes = {name: list(array.shape) for name, array in result.arrays.items()}
        dtypes = {array.dtype for array in result.arrays.values()}
    floor = _floor(large_run.FLOOR_NPY)["arrays"](20)
    assert {name: list(array.shape) for name, array in floor.items()} == shapes
    assert shapes["pool"] == [3, 9, 9]
    assert {array.dtype for array in floor.values()} == dtypes == {np.dtype(np.float32)}


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (CSV_BLOCK_CELLS // 300 * 3 + 5, 300)])
def test_the_text_floor_writes_xopipes_csv_bytes(tmp_path, shape):
    """Many blocks, a last short one, a single cell: the same bytes as xopipe's grid."""
    grid = np.random.default_rng(1).standard_normal(shape).astype(np.float32) * 1e-3
    grid.flat[0] = np.float32(0.1)  # widened: 0.10000000149011612, as xopipe writes it
    with ThreadPoolExecutor(2) as pool:
        _floor(large_run.FLOOR_CSV)["write_grid"](tmp_path / "floor.csv", grid, pool)
    write_csv_grid(tmp_path / "xopipe.csv", grid)
    floor = (tmp_path / "floor.csv").read_bytes()
    assert floor == (tmp_path / "xopipe.csv").read_bytes()
    assert floor.startswith(b"0.10000000149011612") and floor.count(b"\n") == shape[0]
