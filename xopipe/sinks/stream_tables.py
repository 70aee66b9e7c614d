"""A lazy run's matrices (backend=dask), written a band of rows at a time as it is computed.

Nothing gathers a whole array into one process: band b is chunk row b of
every stage (and of the input), computed together in one call, so what the
stages share (a conv both pool and activation read) is computed once; the
band then goes to every chosen file before band b + 1 is computed. Memory is
one band of every stage, whatever the image's size. The files are those of
an in-memory run, with the same schema and values:

- matrices.parquet: one file, written through one ParquetWriter, one row group
  per chunk block and channel, in band order (pyarrow.parquet.read_table reads
  it whole; arrays_from_table places every row by its stage, channel, row, col);
- matrices/<stage>.npy: float64, its header written by numpy's open_memmap,
  then each band through a memory map of its own rows only (unmapped at once);
- matrices/<stage>_<channel>.csv: each band's lines appended, full precision.

The client writes every file, so a dask.distributed cluster needs no
filesystem shared with its workers. Each file is written under a temporary
name and renamed into place once complete (sinks/files.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xopipe.sinks.arrow_columns import numeric_column, repeated_string
from xopipe.sinks.csv_grid import write_csv_rows
from xopipe.sinks.files import atomic_path
from xopipe.sinks.layout import MATRICES, MATRICES_PARQUET, matrix_csv_name, matrix_npy_name
from xopipe.sinks.tables import ENCODING, SCHEMA

Compute = Callable[..., tuple[np.ndarray, ...]]  # lazy arrays -> NumPy, computed together
Band = list[tuple[str, int, int]]  # (stage, first row, end row) of each stage in one band


def bands(arrays: Mapping[str, Any]) -> Iterator[Band]:
    """Band b: chunk row b of each array that has one, in the arrays' order."""
    edges = {name: np.cumsum((0, *array.chunks[1])) for name, array in arrays.items()}
    for b in range(max(len(e) - 1 for e in edges.values())):
        yield [(name, int(e[b]), int(e[b + 1])) for name, e in edges.items() if b + 1 < len(e)]


def write_streamed_matrices(
    formats: Sequence[str],
    out_dir: Path,
    arrays: Mapping[str, Any],
    compute: Compute,
    parquet_name: str = MATRICES_PARQUET,
    folder: str = MATRICES,
) -> list[Path]:
    """The chosen formats (parquet, csv, npy) of the lazy `arrays`; the paths written."""
    paths: list[Path] = []
    with ExitStack() as stack:
        sinks: list[Any] = []
        if "parquet" in formats:
            sinks.append(ParquetSink(stack, out_dir / parquet_name))
        if "csv" in formats or "npy" in formats:
            (out_dir / folder).mkdir(exist_ok=True)
        if "csv" in formats:
            sinks.append(CsvSink(stack, out_dir / folder, arrays))
        if "npy" in formats:
            sinks.append(NpySink(stack, out_dir / folder, arrays))
        # One thread writes band b while dask computes band b + 1: two bands in memory.
        with ThreadPoolExecutor(1) as writer:
            pending: Future[None] | None = None
            for band in bands(arrays):
                blocks = compute(*(arrays[name][:, top:end] for name, top, end in band))
                if pending is not None:
                    pending.result()
                pending = writer.submit(_write_band, sinks, arrays, band, blocks)
            if pending is not None:
                pending.result()
        for sink in sinks:
            paths.extend(sink.paths)
    return paths  # renamed into place as the stack closed


def _write_band(
    sinks: Sequence[Any], arrays: Mapping[str, Any], band: Band, blocks: Sequence[np.ndarray]
) -> None:
    for (name, top, _), block in zip(band, blocks, strict=True):
        for sink in sinks:
            sink.write(name, top, block, arrays[name].chunks[2])


class ParquetSink:
    def __init__(self, stack: ExitStack, path: Path) -> None:
        temporary = stack.enter_context(atomic_path(path))
        self.writer = stack.enter_context(pq.ParquetWriter(temporary, SCHEMA, **ENCODING))
        self.paths = [path]

    def write(self, stage: str, top: int, block: np.ndarray, col_chunks: Sequence[int]) -> None:
        """One row group per chunk block and channel: rows, then cols, in order."""
        _, rows, _ = block.shape
        left = 0
        for width in col_chunks:
            cols = np.arange(left, left + width, dtype=np.int32)
            row_index = np.repeat(np.arange(top, top + rows, dtype=np.int32), width)
            col_index = np.tile(cols, rows)
            n = rows * width
            for channel, grid in enumerate(block):
                values = grid[:, left : left + width].astype(np.float64).ravel()
                batch = pa.RecordBatch.from_arrays(
                    [
                        repeated_string(stage, n),
                        numeric_column(np.full(n, channel, dtype=np.int32)),
                        numeric_column(row_index),
                        numeric_column(col_index),
                        numeric_column(values),
                    ],
                    schema=SCHEMA,
                )
                self.writer.write_batch(batch, row_group_size=n)
            left += width


class CsvSink:
    def __init__(self, stack: ExitStack, folder: Path, arrays: Mapping[str, Any]) -> None:
        self.streams: dict[tuple[str, int], BinaryIO] = {}
        self.paths = []
        for stage, array in arrays.items():
            for channel in range(array.shape[0]):
                path = folder / matrix_csv_name(stage, channel)
                temporary = stack.enter_context(atomic_path(path))
                stream = stack.enter_context(temporary.open("wb"))
                self.streams[stage, channel] = stream
                self.paths.append(path)

    def write(self, stage: str, top: int, block: np.ndarray, col_chunks: Sequence[int]) -> None:
        for channel, grid in enumerate(block):
            write_csv_rows(self.streams[stage, channel], grid)


class NpySink:
    def __init__(self, stack: ExitStack, folder: Path, arrays: Mapping[str, Any]) -> None:
        self.files: dict[str, tuple[Path, int, tuple[int, ...]]] = {}
        self.paths = []
        for stage, array in arrays.items():
            path = folder / matrix_npy_name(stage)
            temporary = stack.enter_context(atomic_path(path))
            shape = tuple(int(n) for n in array.shape)
            header = np.lib.format.open_memmap(temporary, "w+", np.float64, shape)
            self.files[stage] = (temporary, header.offset, shape)
            del header  # unmapped: each band maps only its own rows
            self.paths.append(path)

    def write(self, stage: str, top: int, block: np.ndarray, col_chunks: Sequence[int]) -> None:
        path, offset, (_, height, width) = self.files[stage]
        rows = block.shape[1]
        for channel, grid in enumerate(block):
            start = offset + (channel * height + top) * width * 8
            region = np.memmap(path, np.float64, "r+", offset=start, shape=(rows, width))
            region[...] = grid
            del region
