"""Inputs as dask arrays made chunk by chunk, for a chunked backend (backend=dask).

- random: numpy's default_rng(seed) is PCG64, which draws one 64-bit number per
  uniform double and can jump ahead (`advance`). A chunk's row segment starts
  at its own place in the stream (its row-major index in the whole input), so
  every value is the one the in-memory draw gives for the same seed, bit for
  bit, however the input is chunked;
- a .npy file: each chunk maps the file, copies its region as float64 (as the
  in-memory reader does) and unmaps it; nothing is shared between chunks, so a
  dask.distributed worker opens the file itself (the path must be readable
  where the workers run);
- an image: its pixels, decoded whole at their own depth (uint8, uint16), are
  scaled to float64 chunk by chunk, by read_image's own arithmetic (images.scaled);
  an uncompressed TIFF's are not decoded: each chunk maps the file, as a .npy's
  (raw_tiff.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from xopipe.errors import invalid

# Chunks smaller than this a side, in an input cut into more than SMALL_CHUNKS_MIN_COUNT
# of them, get a warning: dask schedules each chunk's tasks for about a millisecond
# apiece, far more than a small chunk's arithmetic (a 512x512 seed run: chunks of 1024
# 1.4 s, of 64 2.2 s, of 16 40 s). Tests cut small inputs into a few dozen tiny chunks.
SMALL_CHUNKS = 256
SMALL_CHUNKS_MIN_COUNT = 256


def checked_chunks(chunks: object) -> int:
    """backend.chunks, refused in one line unless a positive integer: checked before the
    input is read by chunk (a chunk of 0 cells would divide by zero there)."""
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise invalid("backend.chunks", chunks, "a positive integer (cells per side)")
    return chunks


def chunk_warnings(shape: tuple[int, ...], chunks: int) -> list[str]:
    """A line when `chunks` cuts an input of `shape` ([C,] H, W) into many tiny chunks."""
    height, width = shape[-2:]
    count = -(-height // chunks) * -(-width // chunks)
    if chunks >= SMALL_CHUNKS or count <= SMALL_CHUNKS_MIN_COUNT:
        return []
    return [
        f"backend.chunks={chunks} cuts the {height}x{width} input into {count:,} chunks: dask "
        "spends about a millisecond scheduling each of their tasks, more than their "
        "arithmetic; chunks of 512 to 4096 cells a side suit a large input"
    ]


def _chunking(shape: tuple[int, ...], chunks: int) -> tuple[int, ...]:
    """Cells per chunk along each axis: channels whole, rows and cols `chunks` a side."""
    return (-1, chunks, chunks) if len(shape) == 3 else (chunks, chunks)


def random_chunks(
    shape: list[int], seed: int, low: float, high: float, pixels: bool, chunks: int
) -> Any:
    """default_rng(seed).uniform(low, high, shape) (or low/high pixels), chunk by chunk."""
    import dask.array as da

    full = (1, *shape) if len(shape) == 2 else tuple(shape)  # a grey [H, W]: one channel
    blocks = da.core.normalize_chunks(_chunking(full, chunks), full)
    return da.map_blocks(
        _random_block,
        chunks=blocks,
        dtype=np.float64,
        meta=np.empty((0, 0, 0)),
        seed=seed,
        low=low,
        high=high,
        pixels=pixels,
        full=full,
    )


def _random_block(
    block_info: dict | None = None,
    *,
    seed: int,
    low: float,
    high: float,
    pixels: bool,
    full: tuple[int, int, int],
) -> np.ndarray:
    assert block_info is not None
    (c0, c1), (r0, r1), (q0, q1) = block_info[None]["array-location"]
    _, height, width = full
    bits = np.random.PCG64(seed)  # what default_rng(seed) makes
    draw = np.random.Generator(bits)
    out = np.empty((c1 - c0, r1 - r0, q1 - q0))
    # Whole rows are one run of the stream; a narrower chunk draws row by row.
    runs = [(r0, r1)] if (q0, q1) == (0, width) else [(r, r + 1) for r in range(r0, r1)]
    position = 0
    for c in range(c0, c1):
        for first, last in runs:
            start = (c * height + first) * width + q0
            bits.advance(start - position)
            count = (last - first) * (q1 - q0)
            values = draw.random(count) if pixels else draw.uniform(low, high, count)
            out[c - c0, first - r0 : last - r0] = values.reshape(last - first, q1 - q0)
            position = start + count
    return np.where(out < 0.5, low, high) if pixels else out


class NpyRegions:
    """A .npy file as dask reads it: each region through a memory map of its own."""

    def __init__(self, path: str, shape: tuple[int, ...]) -> None:
        self.path = path
        self.shape = shape
        self.ndim = len(shape)
        self.dtype = np.dtype(np.float64)  # what the regions come back as

    def __getitem__(self, key: Any) -> np.ndarray:
        mapped = np.load(self.path, mmap_mode="r", allow_pickle=False)
        region = np.array(mapped[key], dtype=np.float64)
        del mapped  # unmapped: the file's pages are not kept
        return region


def npy_chunks(path: Path, shape: tuple[int, ...], chunks: int) -> Any:
    """The .npy file at `path` (checked already, readers.read_npy) as a dask array."""
    import dask.array as da

    return da.from_array(
        NpyRegions(str(path.resolve()), shape),
        chunks=_chunking(shape, chunks),
        name=_file_token("npy", path),
        meta=np.empty((0,) * len(shape)),
    )


def image_chunks(
    grid: Any, scaled: Callable[[np.ndarray], np.ndarray], chunks: int, path: Path
) -> Any:
    """Pixels [C, H, W] at their depth as a float64 dask array, each chunk `scaled` alone.
    `grid`: the decoded pixels, or an uncompressed TIFF's left in `path` (raw_tiff.py)."""
    import dask.array as da

    if isinstance(grid, np.ndarray):
        pixels = da.from_array(grid, chunks=_chunking(grid.shape, chunks))
    else:
        pixels = da.from_array(
            grid,
            chunks=_chunking(grid.shape, chunks),
            name=_file_token("tiff", path),
            meta=np.empty((0, 0, 0), grid.dtype),
        )
    return pixels.map_blocks(scaled, dtype=np.float64, meta=np.empty((0, 0, 0)))


def first_nonfinite(grid: Any) -> list[int] | None:
    """The index of the first NaN or infinite cell in row-major order, or None; a dask
    array is read chunk by chunk, and only scanned block by block when one is there."""
    if isinstance(grid, np.ndarray):
        if np.isfinite(grid).all():
            return None
        return [int(i) for i in np.argwhere(~np.isfinite(grid))[0]]
    import dask.array as da

    from xopipe.cores import job_share

    # A sweep's concurrent jobs each check with their share of the cores.
    if bool(da.isfinite(grid).all().compute(num_workers=job_share())):
        return None
    offsets = [np.cumsum((0, *sizes)) for sizes in grid.chunks]
    found = []
    for index in np.ndindex(*grid.numblocks):
        block = grid.blocks[index].compute(scheduler="synchronous")
        if not np.isfinite(block).all():
            local = np.argwhere(~np.isfinite(block))[0]
            found.append([int(o[i] + j) for o, i, j in zip(offsets, index, local, strict=True)])
    return min(found)  # the first in row-major order over the whole array


def _file_token(kind: str, path: Path) -> str:
    """A dask name for a file's array: its path, size and time of change."""
    import dask.array as da

    resolved = str(path.resolve())
    stat = os.stat(resolved)
    return f"{kind}-{da.core.tokenize(resolved, stat.st_size, stat.st_mtime_ns)}"
