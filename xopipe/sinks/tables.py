"""The stages' matrices on disk: one tidy Parquet table, CSV grids, .npy arrays; read back.

The Parquet table is written with pyarrow in batches and the CSV grids a
block of rows at a time (sinks/csv_grid.py), so a 4096x4096 run never holds
text or a table much bigger than its arrays. Values are stored as float64
(float32 results widened exactly), so the CSV and the Parquet agree bit for
bit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xopipe.private_api.arrow_kernels import call_function
from xopipe.sinks.arrow_columns import numeric_column, repeated_string
from xopipe.sinks.csv_grid import write_csv_grid
from xopipe.sinks.files import save_npy
from xopipe.sinks.hashed_stream import hashed_stream
from xopipe.sinks.layout import MATRICES, MATRICES_PARQUET, matrix_csv_name, matrix_npy_name

# The table as it reads back. No cell is ever null: the columns say so (REQUIRED in the
# Parquet schema), which spares the writer a definition level per cell.
SCHEMA = pa.schema(
    [
        pa.field("stage", pa.string(), nullable=False),
        pa.field("channel", pa.int32(), nullable=False),
        pa.field("row", pa.int32(), nullable=False),
        pa.field("col", pa.int32(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)
# The table as it is handed to pyarrow: each batch holds one stage and one channel, so
# both go as dictionary arrays of one entry, which pyarrow writes as the dictionary
# pages they become anyway without hashing 100M strings (a fifth of the encoding time).
# A Parquet dictionary column reads back as its plain type unless the file stores the
# Arrow schema as written: it does not (store_schema=False in ENCODING).
WRITTEN = pa.schema(
    [
        pa.field("stage", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("channel", pa.dictionary(pa.int32(), pa.int32()), nullable=False),
        *(SCHEMA.field(name) for name in ("row", "col", "value")),
    ]
)

# Rows per Parquet batch (and row group): bounded memory on large maps.
BATCH_ROWS = 1 << 18

# How matrices.parquet is encoded. stage and channel: a one-entry dictionary per row
# group. row runs of one value (a few dozen per row group: a dictionary whose indices
# are runs); col counts 0, 1, 2, ... over and over: delta encoding packs it in a few
# bits. The values are plain and uncompressed: a dictionary of random doubles only
# costs, and compressing them gains little for its time. 4096x4096 float32 seed run,
# 130M rows: 8.3 s of encoding with pyarrow 26 as it was before the dictionary arrays,
# the REQUIRED columns and row's dictionary (python -m xopipe.bench.parquet_speed).
ENCODING: dict = {
    "use_dictionary": ["stage", "channel", "row"],
    "column_encoding": {"col": "DELTA_BINARY_PACKED"},
    "compression": "none",
    "store_schema": False,
}


def tidy_batch(
    stage: str, channel: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray
) -> pa.RecordBatch:
    """One stage's and channel's cells as rows of WRITTEN: rows, cols and values are
    flat, of one length (values widened to float64 here)."""
    n = len(values)
    return pa.RecordBatch.from_arrays(
        [
            _one_entry(repeated_string(stage, 1), n),
            _one_entry(numeric_column(np.array([channel], dtype=np.int32)), n),
            numeric_column(rows),
            numeric_column(cols),
            numeric_column(values.astype(np.float64, copy=False)),
        ],
        schema=WRITTEN,
    )


def _one_entry(dictionary: pa.Array, n: int) -> pa.DictionaryArray:
    """n rows of a dictionary's only entry."""
    return pa.DictionaryArray.from_arrays(numeric_column(_zeros(n)), dictionary)


def _zeros(n: int) -> np.ndarray:
    # One buffer of zeros, grown when needed, for every batch's dictionary indices.
    global _ZEROS
    if _ZEROS.size < n:
        _ZEROS = np.zeros(n, dtype=np.int32)
    return _ZEROS[:n]


_ZEROS = np.zeros(0, dtype=np.int32)


def write_matrices(
    formats: Sequence[str],
    out_dir: Path,
    arrays: Mapping[str, np.ndarray],
    parquet_name: str = MATRICES_PARQUET,
    folder: str = MATRICES,
    npy_dtype: str = "float64",
) -> list[Path]:
    """The stages' matrices in each of `formats` (parquet, csv, npy); the paths written.

    `parquet_name` and `folder` name the files: matrices.parquet and matrices/ for the
    values, gradients.parquet and gradients/ for dL/d each of them. The .npy grids are
    `npy_dtype` (float32 only for a float32 run's arrays, so nothing is rounded).
    """
    written: list[Path] = []
    if "parquet" in formats:
        write_parquet(out_dir / parquet_name, arrays)
        written.append(out_dir / parquet_name)
    if "csv" in formats:
        written.extend(write_csv_grids(out_dir / folder, arrays))
    if "npy" in formats:
        (out_dir / folder).mkdir(exist_ok=True)
        for name, array in arrays.items():
            path = out_dir / folder / matrix_npy_name(name)
            save_npy(path, array.astype(npy_dtype))
            written.append(path)
    return written


def write_parquet(path: Path, arrays: Mapping[str, np.ndarray], encoding: dict = ENCODING) -> None:
    """The tidy table: one row per cell (stage, channel, row, col, value).

    `encoding`: ParquetWriter's options (the benchmark compares others). The file is
    hashed as it is written (sinks/hashed_stream.py): no one reads a gigabyte back.
    """
    with hashed_stream(path) as stream, pq.ParquetWriter(stream, WRITTEN, **encoding) as writer:
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
                row_index = np.repeat(np.arange(top, top + block.shape[0], dtype=np.int32), cols)
                col_indices = np.tile(col_index, block.shape[0])
                yield tidy_batch(stage, channel, row_index, col_indices, block.ravel())


def write_csv_grids(folder: Path, arrays: Mapping[str, np.ndarray]) -> list[Path]:
    """matrices/<stage>_<channel>.csv: the grid as is, no header, shortest round-trip digits."""
    folder.mkdir(exist_ok=True)
    paths = []
    for stage, array in arrays.items():
        for channel in range(array.shape[0]):
            path = folder / matrix_csv_name(stage, channel)
            write_csv_grid(path, array[channel])
            paths.append(path)
    return paths


def read_parquet_arrays(path: Path) -> dict[str, np.ndarray]:
    """Rebuild {stage: [C, H, W] float64} from a matrices.parquet file."""
    return arrays_from_table(pq.read_table(path, read_dictionary=["stage"]))


def arrays_from_table(table: pa.Table) -> dict[str, np.ndarray]:
    """{stage: [C, H, W] float64} from rows of the tidy schema, stages in first-seen order.

    Cells absent from the table are NaN. Vectorized: the stage column is read
    as dictionary codes, so a table of 100M rows never becomes Python strings.
    """
    names, codes = stage_codes(table.column("stage"))
    if codes.size == 0:
        return {}
    channel = table.column("channel").to_numpy()
    row = table.column("row").to_numpy()
    col = table.column("col").to_numpy()
    value = table.column("value").to_numpy()
    # First-seen order; one comparison per stage is far cheaper than sorting the codes.
    first_rows = {code: int(np.argmax(codes == code)) for code in range(len(names))}
    present = [code for code in first_rows if codes[first_rows[code]] == code]
    arrays: dict[str, np.ndarray] = {}
    for code in sorted(present, key=first_rows.__getitem__):
        mask = codes == code
        c, r, q = channel[mask], row[mask], col[mask]
        grid = np.full((c.max() + 1, r.max() + 1, q.max() + 1), np.nan)
        grid[c, r, q] = value[mask]
        arrays[names[code]] = grid
    return arrays


def stage_codes(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """The distinct stage names, and for each row the index of its name in them."""
    if not pa.types.is_dictionary(column.type):
        column = call_function("dictionary_encode", [column])
    index: dict[str, int] = {}
    pieces = []
    for chunk in column.chunks:
        local = [index.setdefault(name, len(index)) for name in chunk.dictionary.to_pylist()]
        indices = chunk.indices.to_numpy()
        if local == list(range(len(local))):  # the usual case: one dictionary for all chunks
            pieces.append(indices)
        else:
            pieces.append(np.asarray(local, dtype=np.int32)[indices])
    codes = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int32)
    return list(index), codes
