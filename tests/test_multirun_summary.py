"""xopipe.multirun.summary: summary.parquet, every job's cells in one table."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from xopipe.run_folder import find_jobs
from xopipe.sinks.tables import read_parquet_arrays
from xopipe.sweep_end import finish_sweep


def test_summary_holds_every_cell_and_the_failed_job(sweep):
    finish_sweep(sweep)
    table = pq.read_table(sweep / "summary.parquet")
    assert table.schema.names == [
        "job",
        "run",
        "status",
        "error",
        "backend",
        "conv.stride",
        "stage",
        "channel",
        "row",
        "col",
        "value",
    ]
    assert str(table.schema.field("conv.stride").type) == "int64"
    frame = table.to_pandas()
    for job in find_jobs(sweep):
        rows = frame[frame.job == job.num]
        if not job.complete:
            assert len(rows) == 1 and rows.status.item() == "failed"
            assert rows.error.item() == "UserError: bad value"
            assert rows.value.isna().all() and rows["conv.stride"].item() == 0
            continue
        assert (rows.status == "complete").all() and rows.error.isna().all()
        assert (rows.backend == job.backend).all()
        arrays = read_parquet_arrays(job.parquet)
        assert len(rows) == sum(a.size for a in arrays.values())
        for stage, array in arrays.items():
            cells = rows[rows.stage == stage]
            grid = np.full(array.shape, np.nan)
            index = [cells[name].to_numpy(dtype=np.int64) for name in ("channel", "row", "col")]
            grid[tuple(index)] = cells.value.to_numpy()
            np.testing.assert_array_equal(grid, array)


def test_summary_streams_large_jobs_in_batches(sweep, monkeypatch):
    monkeypatch.setattr("xopipe.multirun.summary.BATCH_ROWS", 7)
    finish_sweep(sweep)
    table = pq.read_table(sweep / "summary.parquet")
    assert table.num_rows == 6 * (30 + 24 + 8) + 1
    assert pq.ParquetFile(sweep / "summary.parquet").num_row_groups > 7
