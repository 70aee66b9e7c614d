"""Output tiles of a window op on a chunked array, each computed by the NumPy backend.

A window op (conv on an input already padded, max or avg pooling) is cut
into tiles of its output. Each tile's windows read one region of the input:
that region is cut out of the whole dask array (the halo comes with it,
however large, from as many chunks as it spans), and the NumPy backend runs
the op on it as if the region were the whole input. The region is chosen
so that the answer is the same:

- it starts at a multiple of the stride, so the tile's first window starts
  at a whole window position of the region (global coordinates, never the
  chunk's own);
- where the tile touches the input's edge, the region ends there too, so the
  op's own padding (pool's -inf, avg's counted or uncounted zeros, ceil_mode's
  overhang) falls where it falls on the whole input; elsewhere the tile's
  windows never reach the padding NumPy adds around the region, and the extra
  windows that do are dropped.

Conv padding copies cells from elsewhere in the image (reflect, circular), so
conv pads the whole dask array first (DaskBackend.pad2d) and calls this with
no padding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xopipe.backends.numpy_threads import one_thread
from xopipe.geometry import effective_size


@dataclass(frozen=True)
class Span:
    """One tile along one axis: outputs [first, stop), read from input [start, end)."""

    first: int
    stop: int
    start: int
    end: int
    skip: int  # outputs of the region before the tile's first (windows in the region's top)


def axis_spans(
    n: int, outputs: int, size: int, stride: int, padding: int, dilation: int, tile: int
) -> list[Span]:
    """Tiles of `tile` outputs along an axis of `n` input cells (see the module docstring)."""
    reach = effective_size(size, dilation)
    spans = []
    for first in range(0, outputs, tile):
        stop = min(first + tile, outputs)
        # The largest multiple of the stride at or before the first window's start.
        start = max(0, (first * stride - padding) // stride * stride)
        end = min(n, (stop - 1) * stride - padding + reach)
        spans.append(Span(first, stop, start, end, first - start // stride))
    return spans


def tile_side(chunks: int, stride: int) -> int:
    """Outputs per tile along an axis: a tile's windows read about `chunks` input cells."""
    return max(1, chunks // stride)


def aligned_chunks(n: int, side: int) -> tuple[int, ...]:
    """Chunk sizes along an axis of n cells, every boundary a multiple of `side`."""
    sizes = [side] * (n // side)
    if n % side:
        sizes.append(n % side)
    return tuple(sizes) or (n,)


Compute = Callable[[np.ndarray], np.ndarray]  # the NumPy backend's op on one region


def tiled(
    x,
    channels: int,
    rows: list[Span],
    cols: list[Span],
    compute: Compute,
    dtype: np.dtype,
):
    """The op's whole output as a dask array: one chunk per (row span, col span) tile."""
    import dask.array as da

    tiles = []
    for r in rows:
        line = []
        for c in cols:
            region = x[:, r.start : r.end, c.start : c.end]
            region = region.rechunk(-1)  # the region's chunks, halo included, as one array
            shape = (channels, r.stop - r.first, c.stop - c.first)
            line.append(
                region.map_blocks(
                    _tile,
                    compute,
                    (r.skip, c.skip),
                    shape,
                    chunks=tuple((n,) for n in shape),
                    dtype=dtype,
                    meta=np.empty((0, 0, 0), dtype=dtype),
                )
            )
        tiles.append(line)
    return da.block(tiles)


def _tile(
    region: np.ndarray, compute: Compute, skip: tuple[int, int], shape: tuple[int, int, int]
) -> np.ndarray:
    """The op on one region, cut to the tile's outputs, on the worker's thread alone."""
    with one_thread():
        out = compute(region)
    _, rows, cols = shape
    return out[:, skip[0] : skip[0] + rows, skip[1] : skip[1] + cols]
