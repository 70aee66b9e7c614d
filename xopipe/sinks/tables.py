"""Matrices to disk: one tidy Parquet table, and one CSV grid per stage and channel.

Both are written with pyarrow, in pieces, so a 4096x4096 run never holds a
table much bigger than its arrays. Values are stored as float64 (float32
results widened exactly), so the CSV and the Parquet agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from xopipe.sinks.files import atomic_path

SCHEMA = pa.schema(
    [
        ("stage", pa.string()),
        ("channel", pa.int32()),
        ("row", pa.int32()),
        ("col", pa.int32()),
        ("value", pa.float64()),
    ]
)

# Rows per Parquet batch (and row group): bounded memory on large maps.
BATCH_ROWS = 1 << 20


def csv_name(stage: str, channel: int) -> str:
    return f"{stage}_{channel}.csv"


def write_parquet(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """The tidy table: one row per cell (stage, channel, row, col, value)."""
    with atomic_path(path) as temporary, pq.ParquetWriter(temporary, SCHEMA) as writer:
        for batch in _batches(arrays):
            writer.write_batch(batch)


def _batches(arrays: Mapping[str, np.ndarray]) -> Iterator[pa.RecordBatch]:
    for stage, array in arrays.items():
        channels, rows, cols = array.shape
        rows_per_batch = max(1, BATCH_ROWS // cols)
        col_index = np.arange(cols, dtype=np.int32)
        for channel in range(channels):
            for top in range(0, rows, rows_per_batch):
                block = array[channel, top : top + rows_per_batch]
                n = block.size
                yield pa.RecordBatch.from_arrays(
                    [
                        _repeated_string(stage, n),
                        pa.array(np.full(n, channel, dtype=np.int32)),
                        pa.array(
                            np.repeat(np.arange(top, top + block.shape[0], dtype=np.int32), cols)
                        ),
                        pa.array(np.tile(col_index, block.shape[0])),
                        pa.array(block.astype(np.float64).ravel()),
                    ],
                    schema=SCHEMA,
                )


def _repeated_string(text: str, n: int) -> pa.Array:
    """A string column of n copies of `text`, built from buffers (no Python loop)."""
    data = text.encode()
    offsets = np.arange(n + 1, dtype=np.int32) * len(data)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)]
    )


def write_csv_grids(folder: Path, arrays: Mapping[str, np.ndarray]) -> list[Path]:
    """matrices/<stage>_<channel>.csv: the grid as is, no header, shortest round-trip digits."""
    folder.mkdir(exist_ok=True)
    paths = []
    options = pa_csv.WriteOptions(include_header=False)
    for stage, array in arrays.items():
        for channel in range(array.shape[0]):
            path = folder / csv_name(stage, channel)
            # Columns of the table are columns of the grid; transpose once so each is contiguous.
            columns = np.ascontiguousarray(array[channel].T, dtype=np.float64)
            table = pa.Table.from_arrays(
                [pa.array(column) for column in columns],
                names=[str(j) for j in range(len(columns))],
            )
            with atomic_path(path) as temporary:
                pa_csv.write_csv(table, temporary, options)
            paths.append(path)
    return paths


def read_parquet_arrays(path: Path) -> dict[str, np.ndarray]:
    """Rebuild {stage: [C, H, W] float64} from a matrices.parquet file."""
    table = pq.read_table(path)
    stages = table.column("stage").to_numpy(zero_copy_only=False)
    channel = table.column("channel").to_numpy()
    row = table.column("row").to_numpy()
    col = table.column("col").to_numpy()
    value = table.column("value").to_numpy()
    arrays: dict[str, np.ndarray] = {}
    for stage in dict.fromkeys(stages):  # first-seen order
        mask = stages == stage
        c, r, q = channel[mask], row[mask], col[mask]
        grid = np.full((c.max() + 1, r.max() + 1, q.max() + 1), np.nan)
        grid[c, r, q] = value[mask]
        arrays[str(stage)] = grid
    return arrays
