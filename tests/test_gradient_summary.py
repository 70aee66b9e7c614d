"""summary.parquet of sweeps with a loss: every job's gradients and weight gradients beside its
values, told apart by the `table` column, and L per job in `loss_value`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import xopipe
from tests.faulty_backward import three_backends
from tests.finished_runs import make_run
from xopipe.sinks.tables import read_parquet_arrays
from xopipe.sweep_end import finish_sweep

WEIGHT_COLUMNS = ["stage", "param", "kernel", "channel", "row", "col", "value"]


def _grids(rows) -> dict[str, np.ndarray]:
    """{stage: [C, H, W]} from summary rows of one job and table."""
    grids = {}
    for stage in dict.fromkeys(rows.stage):
        cells = rows[rows.stage == stage]
        index = [cells[n].to_numpy(dtype=np.int64) for n in ("channel", "row", "col")]
        grid = np.full([int(i.max()) + 1 for i in index], np.nan)
        grid[tuple(index)] = cells.value.to_numpy()
        grids[stage] = grid
    return grids


def test_summary_carries_each_jobs_gradients_and_loss(tmp_path, monkeypatch):
    sweep = three_backends(tmp_path / "sweep", monkeypatch, faulty=None)
    make_run(sweep / "3", None, ["loss=sum", "figures=none", "backend=cuda"])  # a failed job
    finish_sweep(sweep)
    table = pq.read_table(sweep / "summary.parquet")
    assert table.schema.names == [
        *("job", "run", "status", "error", "loss_value", "backend", "table"),
        *("stage", "param", "kernel", "channel", "row", "col", "value"),
    ]
    frame = table.to_pandas()
    for job in range(3):
        rows = frame[frame.job == job]
        manifest = json.loads((sweep / str(job) / "manifest.json").read_text())
        assert list(dict.fromkeys(rows.table)) == ["matrices", "gradients", "weight_gradients"]
        cells = rows[rows.table != "weight_gradients"]
        assert cells.param.isna().all() and cells.kernel.isna().all()
        # dL/d each weight and bias, row for row as the job's weight_gradients.parquet has them
        weights = rows[rows.table == "weight_gradients"][WEIGHT_COLUMNS].reset_index(drop=True)
        stored = pd.read_parquet(sweep / str(job) / "weight_gradients.parquet")
        pd.testing.assert_frame_equal(weights, stored[WEIGHT_COLUMNS], check_dtype=False)
        assert len(weights) == 3 * 9 + 3 and weights.value.abs().sum() > 0
        values = read_parquet_arrays(sweep / str(job) / "matrices.parquet")
        # L = the sum of every cell of pool and activation (the seed's terminal stages)
        loss = values["pool"].sum() + values["activation"].sum()
        assert (rows.loss_value == manifest["loss"]["value"]).all()
        assert np.isclose(rows.loss_value.iloc[0], loss, rtol=1e-15, atol=0)
        for name, parquet in (("matrices", "matrices"), ("gradients", "gradients")):
            expected = read_parquet_arrays(sweep / str(job) / f"{parquet}.parquet")
            found = _grids(rows[rows.table == name])
            assert list(found) == list(expected)
            for stage, array in expected.items():
                np.testing.assert_array_equal(found[stage], array)
    gradients = frame[frame.table == "gradients"]
    assert len(gradients) == 3 * (81 + 3 * 49 + 3 * 16 + 3 * 49)  # dL/d input too
    (failed,) = frame[frame.job == 3].itertuples()
    assert failed.status == "failed" and pd.isna(failed.table) and np.isnan(failed.loss_value)


def test_a_job_without_a_loss_has_no_gradients_and_no_loss_value(tmp_path):
    sweep = tmp_path / "sweep"
    xopipe.run("loss=none", "figures=none", out_dir=sweep / "0").close()
    xopipe.run("loss=sum", "figures=none", out_dir=sweep / "1").close()
    finish_sweep(sweep)
    frame = pq.read_table(sweep / "summary.parquet").to_pandas()
    plain, with_loss = frame[frame.job == 0], frame[frame.job == 1]
    assert set(plain.table) == {"matrices"} and plain.loss_value.isna().all()
    assert list(dict.fromkeys(with_loss.table)) == ["matrices", "gradients", "weight_gradients"]
    assert (with_loss.loss_value == 58.55555555555556).all()  # the seed's 527 / 9
    assert list(frame.columns[:6]) == ["job", "run", "status", "error", "loss_value", "loss"]


def test_a_sweep_without_a_loss_keeps_its_columns(sweep):
    finish_sweep(sweep)
    names = pq.read_table(sweep / "summary.parquet").schema.names
    assert "table" not in names and "loss_value" not in names
