"""A run's matrices.parquet, read one (stage, channel) grid at a time.

Comparing two 4096x4096 runs must not hold both runs' 100M-row tables at
once. xopipe writes every Parquet row group from a single stage and channel
(xopipe.sinks.tables), so the row groups' statistics say where each grid
is, and one grid is read by reading only its row groups. Small tables (and
tables whose row groups mix grids, written by something else) are read
whole, once. gradients.parquet has the same schema and is read the same way.

weight_gradients.parquet (the schema of weights.parquet) is small and read
whole. Its grids are named as its CSV files are: weight_gradients/conv_1_0.csv,
kernel 1's weights on input channel 0, is grid (`conv_1`, 0); the biases,
weight_gradients/conv_bias.csv, one row of K, are grid (`conv_bias`, 0). A
training run's weights.parquet is read the same way; its head is stage `head`
(kernel = class, col = feature), so `head_1` is class 1's votes, one row.

A training run's history.parquet (epoch, split, loss, accuracy) is one grid per
split and score, one row, col = epoch: (`test_accuracy`, 0) holds the test
accuracy from epoch 0 (before training) to the last, so the first column that
differs is the epoch where two runs parted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from xopipe.sinks.tables import arrays_from_table
from xopipe.sinks.weights import read_weights_parquet

# Tables up to this many rows are read whole: one read beats a read per grid.
WHOLE_TABLE_ROWS = 1 << 22

GridKey = tuple[str, int]


def open_grids(table: str, path: Path) -> RunGrids | WeightGrids | HistoryGrids:
    """A reader of one table's grids: weights and weight_gradients by weight, a training's
    history by split and score, the others by stage."""
    if table in ("weights", "weight_gradients"):
        return WeightGrids(path)
    return HistoryGrids(path) if table == "history" else RunGrids(path)


class HistoryGrids:
    """history.parquet as grids `<split>_loss` and `<split>_accuracy`: [1, epochs], col = epoch."""

    def __init__(self, path: Path) -> None:
        columns = pq.read_table(path).to_pydict()
        epochs = max(columns["epoch"], default=-1) + 1
        self._grids: dict[GridKey, np.ndarray] = {}
        rows = zip(
            columns["epoch"], columns["split"], columns["loss"], columns["accuracy"], strict=True
        )
        for epoch, split, loss, accuracy in rows:
            for score, value in (("loss", loss), ("accuracy", accuracy)):
                grid = self._grids.setdefault((f"{split}_{score}", 0), np.full((1, epochs), np.nan))
                grid[0, epoch] = value
        # Scores first by score, then by split as the file has them: losses, then accuracies.
        order = sorted(self._grids, key=lambda key: key[0].endswith("_accuracy"))
        self._grids = {key: self._grids[key] for key in order}

    def grid_keys(self) -> list[GridKey]:
        return list(self._grids)

    def grid(self, stage: str, channel: int) -> np.ndarray | None:
        return self._grids.get((stage, channel))


class WeightGrids:
    """The grids of one weight_gradients.parquet (or weights.parquet), by their CSV names."""

    def __init__(self, path: Path) -> None:
        self._grids: dict[GridKey, np.ndarray] = {}
        for stage, found in read_weights_parquet(path).items():
            for kernel, channels in enumerate(found.weight):
                for channel, grid in enumerate(channels):
                    self._grids[(f"{stage}_{kernel}", channel)] = grid
            self._grids[(f"{stage}_bias", 0)] = found.bias[np.newaxis]

    def grid_keys(self) -> list[GridKey]:
        return list(self._grids)

    def grid(self, stage: str, channel: int) -> np.ndarray | None:
        return self._grids.get((stage, channel))


class RunGrids:
    """The grids of one matrices.parquet, by (stage, channel), in the file's order."""

    def __init__(self, path: Path, whole_table_rows: int = WHOLE_TABLE_ROWS) -> None:
        self.path = path
        # No pre-buffering: it would read every column chunk of the file at once.
        self._file = pq.ParquetFile(path, read_dictionary=["stage"], pre_buffer=False)
        self._arrays: dict[str, np.ndarray] | None = None
        self._row_groups: dict[GridKey, _Located] | None = None
        if self._file.metadata.num_rows > whole_table_rows:
            self._row_groups = _row_groups_by_grid(self._file.metadata)
        if self._row_groups is None:
            self._arrays = arrays_from_table(self._file.read())

    def grid_keys(self) -> list[GridKey]:
        if self._arrays is not None:
            return [
                (stage, channel)
                for stage, array in self._arrays.items()
                for channel in range(array.shape[0])
            ]
        assert self._row_groups is not None
        return list(self._row_groups)

    def grid(self, stage: str, channel: int) -> np.ndarray | None:
        """The [H, W] float64 grid (NaN where a cell is missing), or None if absent."""
        if self._arrays is not None:
            array = self._arrays.get(stage)
            if array is None or channel >= array.shape[0]:
                return None
            return array[channel]
        assert self._row_groups is not None
        located = self._row_groups.get((stage, channel))
        if located is None:
            return None
        grid = np.full((located.rows, located.cols), np.nan)
        for index in located.groups:  # one row group at a time: memory is the grid's own
            table = self._file.read_row_group(index, columns=["row", "col", "value"])
            rows = table.column("row").to_numpy()
            cols = table.column("col").to_numpy()
            grid[rows, cols] = table.column("value").to_numpy()
        return grid


@dataclass
class _Located:
    """Where one grid is: its row groups, and its shape from their statistics."""

    groups: list[int] = field(default_factory=list)
    rows: int = 0
    cols: int = 0


def _row_groups_by_grid(metadata: pq.FileMetaData) -> dict[GridKey, _Located] | None:
    """Row groups per grid from the statistics; None if any row group holds more than one."""
    names = metadata.schema.to_arrow_schema().names
    at = {name: names.index(name) for name in ("stage", "channel", "row", "col")}
    found: dict[GridKey, _Located] = {}
    for index in range(metadata.num_row_groups):
        row_group = metadata.row_group(index)
        if row_group.num_rows == 0:
            continue
        stats = {name: row_group.column(i).statistics for name, i in at.items()}
        if any(stat is None or not stat.has_min_max for stat in stats.values()):
            return None
        stage, channel = stats["stage"], stats["channel"]
        if stage.min != stage.max or channel.min != channel.max:
            return None
        located = found.setdefault((str(stage.min), int(channel.min)), _Located())
        located.groups.append(index)
        located.rows = max(located.rows, int(stats["row"].max) + 1)
        located.cols = max(located.cols, int(stats["col"].max) + 1)
    return found
