"""A run's matrices.parquet, read one (stage, channel) grid at a time.

Comparing two 4096x4096 runs must not hold both runs' 100M-row tables at
once. xopipe writes every Parquet row group from a single stage and channel
(xopipe.sinks.tables), so the row groups' statistics say where each grid
is, and one grid is read by reading only its row groups. Small tables (and
tables whose row groups mix grids, written by something else) are read
whole, once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from xopipe.sinks.tables import arrays_from_table

# Tables up to this many rows are read whole: one read beats a read per grid.
WHOLE_TABLE_ROWS = 1 << 22

GridKey = tuple[str, int]


class RunGrids:
    """The grids of one matrices.parquet, by (stage, channel), in the file's order."""

    def __init__(self, path: Path, whole_table_rows: int = WHOLE_TABLE_ROWS) -> None:
        self.path = path
        self._file = pq.ParquetFile(path, read_dictionary=["stage"])
        self._arrays: dict[str, np.ndarray] | None = None
        self._row_groups: dict[GridKey, list[int]] | None = None
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
        groups = self._row_groups.get((stage, channel))
        if groups is None:
            return None
        table = self._file.read_row_groups(groups, columns=["row", "col", "value"])
        row = table.column("row").to_numpy()
        col = table.column("col").to_numpy()
        grid = np.full((row.max() + 1, col.max() + 1), np.nan)
        grid[row, col] = table.column("value").to_numpy()
        return grid


def _row_groups_by_grid(metadata: pq.FileMetaData) -> dict[GridKey, list[int]] | None:
    """Row groups per grid from the statistics; None if any row group holds more than one."""
    names = metadata.schema.to_arrow_schema().names
    stage_at, channel_at = names.index("stage"), names.index("channel")
    groups: dict[GridKey, list[int]] = {}
    for index in range(metadata.num_row_groups):
        row_group = metadata.row_group(index)
        if row_group.num_rows == 0:
            continue
        stage = row_group.column(stage_at).statistics
        channel = row_group.column(channel_at).statistics
        if (
            stage is None
            or channel is None
            or not (stage.has_min_max and channel.has_min_max)
            or stage.min != stage.max
            or channel.min != channel.max
        ):
            return None
        groups.setdefault((str(stage.min), int(channel.min)), []).append(index)
    return groups
