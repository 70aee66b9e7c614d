"""sinks/csv_grid.py: a grid's CSV text, one block or many on threads, reads back bit-exact."""

from __future__ import annotations

import numpy as np
import pytest

from xopipe.sinks import csv_grid
from xopipe.sinks.csv_grid import write_csv_grid


def _grid(rows: int, cols: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = rng.standard_normal((rows, cols)) * 10.0 ** rng.integers(-20, 20, (rows, cols))
    grid[0, :4] = [
        -0.0,
        1.0,
        1 / 3,
        2.0**-1074,
    ]  # negative zero, an integer, a repeating, subnormal
    return grid


@pytest.mark.parametrize("block_cells", [16, 37])
def test_many_blocks_give_the_text_of_one(tmp_path, monkeypatch, block_cells):
    grid = _grid(53, 11, seed=block_cells)
    whole = tmp_path / "whole.csv"
    write_csv_grid(whole, grid)
    monkeypatch.setattr(csv_grid, "CSV_BLOCK_CELLS", block_cells)  # 16 cells: 53 one-row blocks
    blocks = tmp_path / "blocks.csv"
    write_csv_grid(blocks, grid)
    assert blocks.read_bytes() == whole.read_bytes()
    text = whole.read_text()
    assert text.endswith("\n") and text.count("\n") == 53
    assert text.startswith("-0,1,0.3333333333333333,5e-324,")
    back = np.loadtxt(whole, delimiter=",", ndmin=2)
    assert back.tobytes() == grid.tobytes()  # every bit, negative zero included


def test_a_one_row_grid_and_a_one_column_grid(tmp_path):
    row, column = tmp_path / "row.csv", tmp_path / "column.csv"
    write_csv_grid(row, np.array([[0.5, -2.0, 3.25]]))
    write_csv_grid(column, np.array([[0.5], [-2.0], [3.25]]))
    assert row.read_text() == "0.5,-2,3.25\n"
    assert column.read_text() == "0.5\n-2\n3.25\n"


def test_nothing_is_left_under_the_name_when_formatting_fails(tmp_path, monkeypatch):
    def broken(rows):
        raise MemoryError("no room for the text")

    monkeypatch.setattr(csv_grid, "_csv_text", broken)
    path = tmp_path / "grid.csv"
    with pytest.raises(MemoryError):
        write_csv_grid(path, _grid(4, 4, seed=1))
    assert list(tmp_path.iterdir()) == []
