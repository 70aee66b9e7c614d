"""The numpy backend's conv2d forward pass, its strategy chosen by shape.

Both strategies multiply the kernels, as a [kernels, depth] matrix, with
patches of the input (depth = channels per group x kh x kw) in BLAS:

- "patches": the whole im2col matrix in one copy, then one matmul. Least
  Python per call: small maps, where a call's overhead is the cost.
- "rows": a buffer that holds each input row kw times, shifted by each
  column tap (and read at the column stride), so a copy of kw x the input
  serves all kh x kw taps. The kh rows an output row reads are then one
  [depth, cols] matrix inside it, and a stacked matmul makes every output
  row at once. Output rows go in blocks whose buffer stays in the cache,
  the blocks shared among threads (numpy_threads.py).

Strided and dilated convs read only the input cells their kept outputs
need: the copy reads at the stride, and a vertical dilation d splits the
output rows into classes that each read every d-th input row.
Each output cell is sum(window * kernel) / divisor + bias, in that order.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from xopipe.backends.numpy_threads import WORKERS, thread_count
from xopipe.geometry import Pair

# Up to this many im2col cells (depth x output cells), "patches"; beyond, "rows",
# whose fixed cost per call (about 7 us) and per dilation class it no longer outweighs.
PATCHES_MAX_CELLS = 1 << 16
# Cells of the row buffer per block of output rows: 1 MB (float32) or 2 MB (float64),
# within one core's 2 MB L2 here. Each block is a few NumPy calls handed to a thread;
# smaller blocks spent more in the handing over than two threads saved (2^16 cells, two
# threads: 1024^2 stride 2 float32 1.6 ms, 4096^2 dilation 2 float64 150 ms; 2^18: 1.0
# and 100 ms; one thread at 2^16: 1.1 and 110 ms).
ROWS_BLOCK_CELLS = 1 << 18
# BLAS runs a matmul of at most 2^18 multiply-adds on the calling thread (OpenBLAS's
# threshold); each stacked matmul of "rows" stays under it, so threads never wait on BLAS.
MATMUL_MAX_MACS = 1 << 18
# Below this many multiply-adds in all, one thread: waking another costs more.
THREADS_MIN_MACS = 1 << 21

_scratch = threading.local()


def _buffer(cells: int, dtype: np.dtype) -> np.ndarray:
    """This thread's row buffer, reused from call to call: no fresh pages to fault in."""
    held = getattr(_scratch, "rows", None)
    if held is None or held.dtype != dtype or held.size < cells:
        held = _scratch.rows = np.empty(cells, dtype)
    return held


class Geometry(NamedTuple):
    channels: int  # per group
    kernels: int  # per group
    size: Pair
    stride: Pair
    dilation: Pair
    out: Pair  # rows, cols

    @property
    def depth(self) -> int:
        return self.channels * self.size[0] * self.size[1]


def choose(geometry: Geometry, groups: int) -> str:
    """The strategy for this shape: "patches" for small maps, "rows" otherwise."""
    rows, cols = geometry.out
    (sh, _), (dh, _) = geometry.stride, geometry.dilation
    classes = dh // math.gcd(sh, dh)  # "rows" works through each class separately
    limit = PATCHES_MAX_CELLS * min(classes, 2)
    return "patches" if groups * geometry.depth * rows * cols <= limit else "rows"


def conv2d(
    padded: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    stride: Pair,
    dilation: Pair,
    groups: int,
    divisor: float | None,
    strategy: str | None = None,
) -> np.ndarray:
    """Cross-correlate a padded, C-contiguous [C, H, W] with weight [K, C/groups, kh, kw]."""
    kernels, channels, kh, kw = weight.shape
    _, height, width = padded.shape
    (sh, sw), (dh, dw) = stride, dilation
    out_shape = ((height - dh * (kh - 1) - 1) // sh + 1, (width - dw * (kw - 1) - 1) // sw + 1)
    geometry = Geometry(channels, kernels // groups, (kh, kw), stride, dilation, out_shape)
    out = np.empty((kernels, *out_shape), dtype=padded.dtype)
    column_bias = bias.astype(padded.dtype, copy=False).reshape(kernels, 1, 1)
    if (strategy or choose(geometry, groups)) == "patches":
        _patches(padded, weight, geometry, groups, out)
        _finish(out, divisor, column_bias)
    else:
        _rows(padded, weight, geometry, groups, out, divisor, column_bias)
    return out


def _finish(out: np.ndarray, divisor: float | None, column_bias: np.ndarray) -> None:
    if divisor is not None:
        out /= divisor
    out += column_bias


def _patches(
    padded: np.ndarray, weight: np.ndarray, geometry: Geometry, groups: int, out: np.ndarray
) -> None:
    """im2col in one copy from a strided view of the input, then one (stacked) matmul."""
    channels, per_group, (kh, kw), (sh, sw), (dh, dw), (rows, cols) = geometry
    depth, cells = geometry.depth, rows * cols
    item, (plane, row, _) = padded.itemsize, padded.strides
    shape = (groups, channels, kh, kw, rows, cols)
    strides = (channels * plane, plane, dh * row, dw * item, sh * row, sw * item)
    windows = np.ndarray(shape, padded.dtype, padded, 0, strides)
    np.matmul(
        weight.reshape(groups, per_group, depth),
        windows.reshape(groups, depth, cells),
        out=out.reshape(groups, per_group, cells),
    )


def copy_low_halves(
    target: np.ndarray, source: np.ndarray, offset: int, strides: tuple[int, ...]
) -> None:
    """target[...] = float32 cells of `source` at `offset` and byte `strides`, each read
    as the low half of the 8 bytes from it on (little-endian): a uint64 -> uint32 cast,
    2.4x a gather's speed at a column stride of 2, the same bits. The last cell's 8 bytes
    must lie within `source`."""
    words = np.ndarray(target.shape, np.uint64, source, offset, strides)
    np.copyto(target.view(np.uint32), words, casting="unsafe")


class _Block(NamedTuple):
    group: int
    phase: int  # vertical dilation class: output rows phase, phase + classes, ...
    first: int  # first output row of the block, counted within its class
    rows: int  # output rows in the block


class _RowPlan:
    """What every block of one "rows" call shares: its views' strides, its matrices."""

    def __init__(self, padded: np.ndarray, weight: np.ndarray, geometry: Geometry, groups: int):
        channels, kernels, (kh, kw), (sh, sw), (dh, dw), (rows, cols) = geometry
        # Output row i reads input rows i*sh + a*dh. With g = gcd(sh, dh), the output
        # rows of one class, i = phase + m * dh/g, read the input rows
        # phase*sh + (m * sh/g + a) * dh: every dh-th row, at stride sh/g, undilated.
        gcd = math.gcd(sh, dh)
        self.classes, sub_stride = dh // gcd, sh // gcd
        item, (plane, row, _) = padded.itemsize, padded.strides
        self.padded, self.group_offset = padded, channels * plane
        self.phase_offset, self.first_offset = sh * row, sub_stride * dh * row
        columns = (plane, dw * item, sw * item)
        # The buffer holds [buffer rows, channels, kw, cols]; output row m's patches are
        # its kh buffer rows from m * step on, one [depth, cols] matrix.
        self.overlap = sub_stride < kh  # consecutive output rows share buffer rows
        self.strides: tuple[int, ...]
        if self.overlap:
            self.step, self.strides = sub_stride, (dh * row, *columns)
        else:  # each output row's kh rows, one after another
            self.step, self.strides = kh, (sub_stride * dh * row, dh * row, *columns)
        self.kh, self.tail = kh, (channels, kw, cols)
        # Column stride 2 in float32: copy_low_halves, not a gather.
        self.pairs = sw == 2 and padded.dtype == np.float32 and sys.byteorder == "little"
        self.row_cells = channels * kw * cols
        self.patches_strides = (self.step * self.row_cells * item, cols * item, item)
        self.depth, self.kernels, self.cols = geometry.depth, kernels, cols
        # The kernels as matrices, their columns in the buffer's order: (kh, channel, kw).
        matrices = weight.transpose(0, 2, 1, 3).reshape(groups, kernels, self.depth)
        self.matrices = np.ascontiguousarray(matrices)
        self.chunk = max(1, MATMUL_MAX_MACS // (kernels * self.depth))  # columns per matmul
        self.block = max(1, ROWS_BLOCK_CELLS // (self.step * self.row_cells))

    def blocks(self, groups: int, rows: int, threads: int = 1) -> list[_Block]:
        """Every block, the classes' blocks of neighbouring rows one after another: a
        thread's share writes one stretch of the output, not each class's over all of it.
        Blocks come in a multiple of `threads` where that takes smaller ones: 5 blocks on
        2 threads keep one waiting for the other's third."""
        counts = [len(range(phase, rows, self.classes)) for phase in range(self.classes)]
        per_class = -(-counts[0] // self.block)
        while (per_class * groups * self.classes) % threads and per_class < counts[0]:
            per_class += 1
        block = -(-counts[0] // per_class)
        return [
            _Block(group, phase, first, min(block, counts[phase] - first))
            for group in range(groups)
            for first in range(0, counts[0], block)
            for phase in range(self.classes)
            if first < counts[phase]
        ]

    def compute(self, part: _Block, out: np.ndarray) -> None:
        """One block of output rows into out [rows, kernels, cols]: fill this thread's
        buffer, then one stacked matmul per chunk of columns."""
        n, padded = part.rows, self.padded
        offset = (
            part.group * self.group_offset
            + part.phase * self.phase_offset
            + part.first * self.first_offset
        )
        shape: tuple[int, ...]
        if self.overlap:
            shape = ((n - 1) * self.step + self.kh, *self.tail)
        else:
            shape = (n, self.kh, *self.tail)
        cells = math.prod(shape)
        target = _buffer(cells, padded.dtype)[:cells].reshape(shape)
        reach = sum((n - 1) * stride for n, stride in zip(shape, self.strides, strict=True))
        if self.pairs and offset + reach + 8 <= padded.nbytes:
            copy_low_halves(target, padded, offset, self.strides)
        else:
            np.copyto(target, np.ndarray(shape, padded.dtype, padded, offset, self.strides))
        matrix, chunk, cols, item = (
            self.matrices[part.group],
            self.chunk,
            self.cols,
            padded.itemsize,
        )
        for left in range(0, cols, chunk):
            width = min(chunk, cols - left)
            patches = np.ndarray(
                (n, self.depth, width), padded.dtype, target, left * item, self.patches_strides
            )
            np.matmul(matrix, patches, out=out[:, :, left : left + width])


def _rows(
    padded: np.ndarray,
    weight: np.ndarray,
    geometry: Geometry,
    groups: int,
    out: np.ndarray,
    divisor: float | None,
    column_bias: np.ndarray,
) -> None:
    """Blocks of output rows, shared among threads; each block finished while in the cache."""
    plan = _RowPlan(padded, weight, geometry, groups)
    kernels, classes = geometry.kernels, plan.classes

    def work(handout: Iterator[_Block]) -> None:
        for part in handout:
            start = part.phase + part.first * classes
            stop = start + (part.rows - 1) * classes + 1
            kernel_rows = slice(part.group * kernels, (part.group + 1) * kernels)
            target = out[kernel_rows, start:stop:classes]
            plan.compute(part, target.transpose(1, 0, 2))
            _finish(target, divisor, column_bias[kernel_rows])

    rows, cols = geometry.out
    macs = kernels * geometry.depth * rows * cols * groups
    threads = thread_count() if macs >= THREADS_MIN_MACS else 1
    WORKERS.run(work, plan.blocks(groups, rows, threads), threads)
