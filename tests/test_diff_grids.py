"""xopipe.diff.grids: a finished run's grids, read whole or one at a time."""

from __future__ import annotations

import numpy as np
import pytest

from tests.finished_runs import random_arrays
from xopipe.diff import grids as grids_module
from xopipe.diff.grids import RunGrids
from xopipe.sinks import tables
from xopipe.sinks.tables import write_parquet


@pytest.mark.parametrize("whole_rows", [0, 1 << 30])
def test_run_grids_reads_every_grid_either_way(tmp_path, monkeypatch, whole_rows):
    monkeypatch.setattr(tables, "BATCH_ROWS", 4)  # several row groups per grid
    arrays = random_arrays()
    write_parquet(tmp_path / "m.parquet", arrays)
    reader = RunGrids(tmp_path / "m.parquet", whole_table_rows=whole_rows)
    assert (reader._arrays is None) == (whole_rows == 0)  # per-grid reads only when large
    expected_keys = [(s, c) for s, a in arrays.items() for c in range(a.shape[0])]
    assert reader.grid_keys() == expected_keys
    for stage, channel in expected_keys:
        np.testing.assert_array_equal(reader.grid(stage, channel), arrays[stage][channel])
    assert reader.grid("conv", 5) is None and reader.grid("relu", 0) is None


def test_run_grids_default_threshold_is_used(tmp_path):
    write_parquet(tmp_path / "m.parquet", random_arrays())
    assert grids_module.WHOLE_TABLE_ROWS > 1000
    assert RunGrids(tmp_path / "m.parquet")._arrays is not None
