"""One 2-D grid as CSV text: no header, shortest round-trip digits, written atomically.

The text is made by Arrow's kernels, a block of rows at a time, so a
4096x4096 grid never holds more than a few blocks of text in memory.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from xopipe.private_api.arrow_kernels import call_function, cast_options
from xopipe.sinks.arrow_columns import numeric_column, repeated_string
from xopipe.sinks.hashed_stream import hashed_stream

# Cells per block of CSV text: the text of one block is in memory at a time.
CSV_BLOCK_CELLS = 1 << 18


def write_csv_grid(path: Path, grid: np.ndarray) -> None:
    """One 2-D grid as CSV: no header, shortest round-trip digits, written atomically
    and hashed as it is written (the manifest and the report read its hash)."""
    with hashed_stream(path) as stream:
        for text in _csv_blocks(grid):
            stream.write(text)


def write_csv_rows(stream: BinaryIO, grid: np.ndarray) -> None:
    """Append the grid's lines to an open CSV file (a lazy run writes a band at a time)."""
    for text in _csv_blocks(grid):
        stream.write(text)


def _csv_blocks(grid: np.ndarray) -> Iterator[pa.Buffer]:
    """The grid as CSV text, a block of rows at a time, in order.

    Blocks are formatted on a few threads at once (Arrow's kernels release
    the GIL), with at most two blocks per thread in flight so memory stays
    bounded.
    """
    rows, cols = grid.shape
    per_block = max(1, CSV_BLOCK_CELLS // cols)
    tops = range(0, rows, per_block)
    if len(tops) == 1:
        yield _csv_text(grid)
    else:
        workers = min(len(tops), os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:
            pending: deque[Future[pa.Buffer]] = deque()
            for top in tops:
                pending.append(pool.submit(_csv_text, grid[top : top + per_block]))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()


def _csv_text(rows: np.ndarray) -> pa.Buffer:
    """CSV lines for a block of rows, the last one ending in a newline too.

    Arrow casts each double to its shortest round-trip text (as its own CSV
    writer does); joining those strings into lines stays in C++.
    """
    block = np.ascontiguousarray(rows, dtype=np.float64).ravel()
    count, cols = rows.shape
    cells = call_function("cast", [numeric_column(block)], cast_options(pa.string()))
    lines = call_function("binary_join", [_lists(cells, cols, count), _COMMA])
    # One empty line more, so the joined text ends with a newline.
    lines = pa.concat_arrays([lines, repeated_string("", 1)])
    text = call_function("binary_join", [_lists(lines, count + 1, 1), _NEWLINE])
    return text[0].as_buffer()


# Separators as Arrow scalars (a Python str would go through pa.scalar(): see arrow_columns).
_COMMA = repeated_string(",", 1)[0]
_NEWLINE = repeated_string("\n", 1)[0]


def _lists(values: pa.Array, length: int, count: int) -> pa.ListArray:
    """`values` cut into `count` consecutive lists of `length` items each."""
    offsets = np.arange(0, length * count + 1, length, dtype=np.int32)
    return pa.ListArray.from_arrays(numeric_column(offsets), values)
