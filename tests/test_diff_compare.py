"""xopipe.diff.compare: two grids cell by cell, within atol + rtol * |b|."""

from __future__ import annotations

import numpy as np
import pytest

from xopipe.diff import compare
from xopipe.diff.compare import Tolerance, compare_grids

F64 = Tolerance(1e-9, 1e-9)


def test_tolerance_defaults_by_dtype():
    assert Tolerance.for_dtypes(("float64", "float64")) == Tolerance(1e-9, 1e-9)
    assert Tolerance.for_dtypes(("float32", "float32")) == Tolerance(1e-5, 1e-5)
    assert Tolerance.for_dtypes(("float64", "float32")) == Tolerance(1e-5, 1e-5)  # the looser
    assert Tolerance.for_dtypes(("float32",), atol=0.0, rtol=0.5) == Tolerance(0.0, 0.5)


def test_compare_grids_counts_cells_beyond_atol_plus_rtol_times_b():
    b = np.array([[1.0, 2.0, -4.0], [0.0, 10.0, 3.0]])
    a = b.copy()
    a[0, 0] += 0.15  # bound is 0.1 + 0.01 * 1 = 0.11: beyond
    a[0, 1] += 0.11  # bound is 0.12: within
    a[1, 1] -= 0.5  # bound is 0.2: beyond, the largest difference
    diff = compare_grids(a, b, Tolerance(atol=0.1, rtol=0.01))
    assert not diff.ok
    assert diff.shape_a == diff.shape_b == (2, 3)
    assert diff.cells == 6
    assert diff.mismatched_cells == 2
    assert diff.max_abs_diff == np.max(np.abs(a - b))
    assert diff.max_rel_diff == pytest.approx(0.15 / 1.0)
    assert [(c.row, c.col) for c in diff.worst] == [(1, 1), (0, 0), (0, 1)]
    assert diff.worst[0].a == a[1, 1] and diff.worst[0].b == 10.0
    assert diff.worst[0].abs_diff == abs(a[1, 1] - 10.0)


def test_compare_grids_equal_grids_agree_exactly():
    grid = np.random.default_rng(1).standard_normal((5, 4))
    diff = compare_grids(grid, grid.copy(), F64)
    assert diff.ok and diff.mismatched_cells == 0 and diff.max_abs_diff == 0.0
    assert diff.worst == []


def test_compare_grids_nan_and_infinity():
    a = np.array([[np.nan, np.inf, np.inf, 1.0, 2.0]])
    b = np.array([[np.nan, np.inf, 5.0, np.nan, 2.0]])
    diff = compare_grids(a, b, Tolerance(atol=1e300, rtol=1.0))  # any finite gap would pass
    assert diff.mismatched_cells == 2  # inf vs 5 and 1 vs nan; nan==nan and inf==inf agree
    assert diff.max_abs_diff == np.inf


def test_compare_grids_shapes_and_missing_grids():
    small, large = np.zeros((2, 2)), np.zeros((2, 3))
    diff = compare_grids(small, large, F64)
    assert not diff.ok and diff.shape_b == (2, 3)
    assert diff.max_abs_diff is None and diff.mismatched_cells is None
    missing = compare_grids(small, None, F64)
    assert not missing.ok and missing.shape_b is None


def test_compare_grids_in_row_blocks_gives_the_same_answer(monkeypatch):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((37, 11))
    b = a + np.where(rng.random(a.shape) < 0.2, rng.standard_normal(a.shape), 0.0)
    whole = compare_grids(a, b, F64)
    monkeypatch.setattr(compare, "BLOCK_CELLS", 20)  # one or two rows per block
    blocks = compare_grids(a, b, F64)
    assert blocks == whole
    expected = np.abs(a - b)
    assert whole.mismatched_cells == np.count_nonzero(expected > 1e-9 + 1e-9 * np.abs(b))
    order = np.argsort(-expected, axis=None, kind="stable")[:5]
    assert [(c.row, c.col) for c in whole.worst] == [divmod(int(i), 11) for i in order]


def test_worst_cells_ties_are_broken_by_position():
    a = np.zeros((3, 4))
    diff = compare_grids(a, a + 0.5, F64)
    assert [(c.row, c.col) for c in diff.worst] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]


def test_a_grid_moved_as_a_whole_reports_its_shift_and_nothing_else_does(monkeypatch):
    rng = np.random.default_rng(3)
    a = rng.uniform(-1, 1, (40, 30))
    moved = compare_grids(a, a + 0.3, F64)  # rounding makes b - a differ in the last bits
    assert np.ptp((a + 0.3) - a) > 0 and moved.shift == pytest.approx(0.3, abs=1e-15)
    assert compare_grids(a, a - 0.25, F64).shift == pytest.approx(-0.25, abs=1e-15)
    monkeypatch.setattr(compare, "BLOCK_CELLS", 64)  # many row blocks: the same answer
    assert compare_grids(a, a + 0.3, F64).shift == moved.shift
    nearly = a + 1.0
    nearly[7, 3] += 1e-6  # one cell moved a little more
    assert compare_grids(a, nearly, F64).shift is None
    partly = a.copy()
    partly[:, :5] += 1.0  # some cells agree: not every cell differs
    assert compare_grids(a, partly, F64).shift is None
    nan = a + 1.0
    nan[0, 0] = np.nan
    assert compare_grids(a, nan, F64).shift is None
    assert compare_grids(np.full((2, 2), np.inf), np.full((2, 2), -np.inf), F64).shift is None
    assert compare_grids(np.zeros((1, 1)), np.ones((1, 1)), F64).shift is None  # one cell
    assert compare_grids(a, a, F64).shift is None
