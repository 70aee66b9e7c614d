"""A lazy run's matrices (backend=dask), written a band of rows at a time as it is computed.

Nothing gathers a whole array into one process: band b is chunk row b of
every stage (and of the input), computed together in one call, so what the
stages share (a conv both pool and activation read) is computed once. The
band comes back as its chunk blocks, never joined into one array, and a
writer thread puts it into every chosen file while band b + 1 is computed:
memory is two bands of every stage (one, past BAND_MEMORY), whatever the
image's height. The files are those of an in-memory run, with the same
schema and values:

- matrices.parquet: one file, written through one ParquetWriter, one row group
  per chunk block and channel, in band order (pyarrow.parquet.read_table reads
  it whole; arrays_from_table places every row by its stage, channel, row, col);
- matrices/<stage>.npy: float64 (or float32, tables.npy_dtype), its header written
  by numpy's open_memmap, then each block through a memory map of its own rows only
  (unmapped at once);
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
import pyarrow.parquet as pq

from xopipe.sinks.csv_grid import write_csv_rows
from xopipe.sinks.files import atomic_path
from xopipe.sinks.layout import MATRICES, MATRICES_PARQUET, matrix_csv_name, matrix_npy_name
from xopipe.sinks.tables import ENCODING, WRITTEN, tidy_batch

Compute = Callable[..., tuple[np.ndarray, ...]]  # lazy arrays -> NumPy, computed together
Band = list[tuple[str, int, int]]  # (stage, first row, end row) of each stage in one band
Blocks = list[tuple[int, np.ndarray]]  # (first col, block [C, rows, cols]) of one stage's band

# Bytes of computed bands the writer may hold: two bands (one written while the next is
# computed) while they fit, else one (a band is written before the next is computed).
BAND_MEMORY = 1 << 30


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
    npy_dtype: str = "float64",
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
            sinks.append(NpySink(stack, out_dir / folder, arrays, np.dtype(npy_dtype)))
        # One thread writes band b while dask computes band b + 1.
        with ThreadPoolExecutor(1) as writer:
            pending: Future[None] | None = None
            for band in bands(arrays):
                pieces = [
                    (name, top, left, arrays[name][:, top:end, left : left + width])
                    for name, top, end in band
                    for left, width in _columns(arrays[name])
                ]
                if pending is not None and 2 * sum(p[3].nbytes for p in pieces) > BAND_MEMORY:
                    pending.result()  # too large to hold two: this band waits for the last
                # The blocks, not the band joined: a joined band would be a second copy.
                blocks = compute(*(piece[3] for piece in pieces))
                if pending is not None:
                    pending.result()
                pending = writer.submit(_write_band, sinks, band, pieces, blocks)
                del blocks  # the writer holds the band now, and drops it once written
            if pending is not None:
                pending.result()
        for sink in sinks:
            paths.extend(sink.paths)
    return paths  # renamed into place as the stack closed


def _columns(array: Any) -> list[tuple[int, int]]:
    """(first col, width) of each chunk column."""
    lefts = np.cumsum((0, *array.chunks[2]))
    return [(int(left), int(width)) for left, width in zip(lefts, array.chunks[2], strict=False)]


def _write_band(
    sinks: Sequence[Any], band: Band, pieces: Sequence[tuple], blocks: Sequence[np.ndarray]
) -> None:
    for name, top, _ in band:
        mine = [(p[2], b) for p, b in zip(pieces, blocks, strict=True) if p[0] == name]
        for sink in sinks:
            sink.write(name, top, mine)


class ParquetSink:
    def __init__(self, stack: ExitStack, path: Path) -> None:
        temporary = stack.enter_context(atomic_path(path))
        self.writer = stack.enter_context(pq.ParquetWriter(temporary, WRITTEN, **ENCODING))
        self.paths = [path]

    def write(self, stage: str, top: int, blocks: Blocks) -> None:
        """One row group per chunk block and channel: rows, then cols, in order."""
        for left, block in blocks:
            _, rows, width = block.shape
            row_index = np.repeat(np.arange(top, top + rows, dtype=np.int32), width)
            col_index = np.tile(np.arange(left, left + width, dtype=np.int32), rows)
            for channel, grid in enumerate(block):
                batch = tidy_batch(stage, channel, row_index, col_index, grid.ravel())
                self.writer.write_batch(batch, row_group_size=len(row_index))


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

    def write(self, stage: str, top: int, blocks: Blocks) -> None:
        """Whole lines: one channel's band joined at a time."""
        for channel in range(blocks[0][1].shape[0]):
            grid = np.concatenate([block[channel] for _, block in blocks], axis=1)
            write_csv_rows(self.streams[stage, channel], grid)


class NpySink:
    def __init__(
        self, stack: ExitStack, folder: Path, arrays: Mapping[str, Any], dtype: np.dtype
    ) -> None:
        self.dtype = dtype
        self.files: dict[str, tuple[Path, int, tuple[int, ...]]] = {}
        self.paths = []
        for stage, array in arrays.items():
            path = folder / matrix_npy_name(stage)
            temporary = stack.enter_context(atomic_path(path))
            shape = tuple(int(n) for n in array.shape)
            header = np.lib.format.open_memmap(temporary, "w+", dtype, shape)
            self.files[stage] = (temporary, header.offset, shape)
            del header  # unmapped: each band maps only its own rows
            self.paths.append(path)

    def write(self, stage: str, top: int, blocks: Blocks) -> None:
        """Each block through a memory map of its rows (only its columns' pages touched)."""
        path, offset, (_, height, width) = self.files[stage]
        for left, block in blocks:
            rows, cols = block.shape[1:]
            for channel, grid in enumerate(block):
                start = offset + (channel * height + top) * width * self.dtype.itemsize
                region = np.memmap(path, self.dtype, "r+", offset=start, shape=(rows, width))
                region[:, left : left + cols] = grid
                del region  # unmapped at once: written back by the kernel, not held here
