"""The numpy conv backward for stride 1, on rows as wide as the input, in tiles on threads.

With stride 1, tap (a, b)'s cells for n output rows are one contiguous run
of the input's flat cells, if each output row is taken as wide as an input
row (its last kw - 1 cells then belong to the next row, or are past the
end). So a tile of patches is kh * kw contiguous copies (not strided 2-D
ones), and each tap's share of the patches' gradient is added back into the
input gradient as one contiguous run: 3.5 times the 2-D adds at 256x256.
The extra cells meet zeros in the widened dL/dy tile and add nothing, which
holds when the input and the weights are finite (numpy_backward checks).

Tiles of output rows run on threads (numpy_threads.py) with the same sums
on any number of them: a tile's first (kh - 1) * dh input rows also take
the tile before's terms, so the tile's shares for those rows wait and are
added after every tile is done, in tile order. Every other cell takes terms
from one tile only. The weights' gradient is summed over tiles in tile order.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from xopipe.backends.numpy_conv import MATMUL_MAX_MACS, THREADS_MIN_MACS
from xopipe.backends.numpy_threads import WORKERS, thread_buffers, thread_count
from xopipe.geometry import Pair

# Output rows per tile at least, for threads: fewer rows pay more Python per cell
# than a thread saves. Below it the tile stays whole and BLAS's own threads multiply.
THREADED_TILE_MIN_ROWS = 8

# A share that waits: (channel, first flat cell, values).
Waiting = tuple[int, int, np.ndarray]


def plan_tiles(rows: int, width: int, depth: int, kernels: int, tile: int) -> tuple[int, bool]:
    """Output rows per tile and whether tiles may run on threads. Neither depends on the
    thread count, so neither do the sums: each matmul stays small enough for BLAS to
    run it on the calling thread (numpy_conv.MATMUL_MAX_MACS) where that leaves tiles of
    THREADED_TILE_MIN_ROWS rows or more, and the whole `tile` runs on one thread otherwise."""
    fits = MATMUL_MAX_MACS // max(1, width * depth * kernels)
    if fits < THREADED_TILE_MIN_ROWS:
        return tile, False
    return min(tile, fits), 2 * depth * kernels * rows * width >= THREADS_MIN_MACS


def backward_in_tiles(
    channels: np.ndarray,
    grad: np.ndarray,
    matrix: np.ndarray,
    grad_channels: np.ndarray,
    size: Pair,
    dilation: Pair,
    tile: int,
) -> np.ndarray:
    """dL/d the weights ([K, depth]) of one group at stride 1, and dL/d its padded input
    added into `grad_channels`. channels: the padded input [C, H, W]; grad: dL/dy [K, rows,
    cols]; matrix: the weights as [K, depth], already scaled by any divisor."""
    group_channels, _, width = channels.shape
    kernels, rows, cols = grad.shape
    depth = matrix.shape[1]
    halo = (size[0] - 1) * dilation[0]
    tile, threaded = plan_tiles(rows, width, depth, kernels, tile)
    tops = list(range(0, rows, tile))
    totals: list[np.ndarray | None] = [None] * len(tops)
    waiting: list[list[Waiting]] = [[] for _ in tops]

    def work(handout: Iterator[int]) -> None:
        for index in handout:
            top = tops[index]
            n = min(tile, rows - top)
            patches, spreads, wide = thread_buffers(
                (depth * n * width, depth * n * width, kernels * n * width), grad.dtype
            )
            grad_tile = wide_tile(grad, top, n, width, wide)
            block = wide_patches(channels, top, n, cols, size, dilation, patches)
            totals[index] = grad_tile[:, : block.shape[1]] @ block.T
            shares = spreads.reshape(depth, n * width)
            np.matmul(matrix.T, grad_tile, out=shares)
            # The first tile's rows take no other tile's terms: nothing of it waits.
            first_late = (top + halo) * width if index else 0
            waiting[index] = add_rows(
                grad_channels,
                shares.reshape(group_channels, *size, n * width),
                top,
                n,
                cols,
                dilation,
                first_late,
            )

    WORKERS.run(work, range(len(tops)), thread_count() if threaded else 1)
    for tile_waiting in waiting:  # in tile order, after every earlier tile's own adds
        for channel, start, values in tile_waiting:
            flat = np.reshape(grad_channels[channel], -1, copy=False)
            flat[start : start + values.size] += values
    total = np.zeros((kernels, depth), dtype=grad.dtype)
    for found in totals:
        total += found
    return total


def wide_tile(grad: np.ndarray, top: int, n: int, width: int, out: np.ndarray) -> np.ndarray:
    """dL/dy's rows top .. top + n - 1 of every kernel, each row padded with zeros to
    `width` cells: [K, n * width] in `out` (flat, at least K * n * width)."""
    kernels, _, cols = grad.shape
    rows = out[: kernels * n * width].reshape(kernels, n, width)
    rows[:, :, :cols] = grad[:, top : top + n, :]
    rows[:, :, cols:] = 0
    return rows.reshape(kernels, n * width)


def wide_patches(
    channels: np.ndarray, top: int, n: int, cols: int, size: Pair, dilation: Pair, out: np.ndarray
) -> np.ndarray:
    """The tile's patches, one contiguous copy per (channel, a, b): [depth, length] in `out`,
    where length = n * width - (width - cols) stops at the last output row's own cells."""
    group_channels, _, width = channels.shape
    (kh, kw), (dh, dw) = size, dilation
    length = n * width - (width - cols)
    block = out[: group_channels * kh * kw * length].reshape(group_channels, kh, kw, length)
    for c in range(group_channels):
        flat = np.reshape(channels[c], -1, copy=False)  # a view, or an error
        for a in range(kh):
            for b in range(kw):
                start = (top + a * dh) * width + b * dw
                block[c, a, b] = flat[start : start + length]
    return block.reshape(group_channels * kh * kw, length)


def add_rows(
    target: np.ndarray,
    spread: np.ndarray,
    top: int,
    n: int,
    cols: int,
    dilation: Pair,
    first_late: int = 0,
) -> list[Waiting]:
    """Each tap's share of the patches' gradient ([channels, kh, kw, n * width]) into the
    input gradient `target`, one contiguous run per tap; the part of a run before flat
    cell `first_late` is not added but returned (copied), to be added later."""
    channels, kh, kw, _ = spread.shape
    width = target.shape[2]
    length = n * width - (width - cols)  # the last row's zeros would run past the end
    dh, dw = dilation
    waiting: list[Waiting] = []
    for c in range(channels):
        flat = np.reshape(target[c], -1, copy=False)  # a view, or an error
        for a in range(kh):
            for b in range(kw):
                start = (top + a * dh) * width + b * dw
                early = min(max(first_late - start, 0), length)
                if early:
                    waiting.append((c, start, spread[c, a, b, :early].copy()))
                flat[start + early : start + length] += spread[c, a, b, early:length]
    return waiting
