"""The numpy backward pass's selections, without a branch per cell.

np.where(mask, grad, 0) and masked copies (np.copyto(..., where=mask)) branch
on every cell, and on a mask that changes from cell to cell, as relu's and a
max pool's do, they run three to five times slower than plain arithmetic
(3 x 1022^2 float64: np.where 15 ms, this 5.7 ms). Here a selection is a
bitwise AND of the gradient's bits with 0 or all ones: the same values as
np.where's, +0.0 where the mask is off, the gradient's own bits (NaN, -0.0,
infinities) where it is on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from xopipe.backends.numpy_threads import WORKERS, in_flat_runs, thread_buffers, thread_count

# Each float type and the integer type of its width.
_BITS = {
    np.dtype(np.float64): np.int64,
    np.dtype(np.float32): np.int32,
    np.dtype(np.float16): np.int16,
}

Tap = tuple[slice, slice, slice]

# Output cells per block of a max pool's backward: the block's rows of the input,
# of the gradient and of the frame stay in the caches through every pass over the
# taps. Whole-array passes read the input from memory once per pass, three times
# slower at 3 x 1022^2.
POOL_BLOCK_CELLS = 1 << 16
# From these sizes up, work shared among threads pays: below, handing the GIL back and
# forth between many short NumPy calls costs more than a second core saves. Measured on
# 2 cores, one thread against two: relu's gradient 1.1 against 0.8 ms at 3 x 510^2
# float64, 0.21 against 0.31 ms at 3 x 254^2; a 2x2 max pool's 14 against 9 ms at
# 3 x 1022^2 float64 (783k outputs), 2.8 against 2.7 ms at 3 x 510^2, 0.69 against
# 1.25 ms at 3 x 254^2.
ELEMENTWISE_THREADS_MIN_CELLS = 1 << 19  # cells
POOL_THREADS_MIN_CELLS = 1 << 19  # output cells


def kept(grad: np.ndarray, mask: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """grad where the boolean `mask` is true, +0 elsewhere (np.where(mask, grad, 0)),
    written into `out` (of grad's dtype and shape; a strided view will do) if given."""
    bits = _BITS.get(grad.dtype)
    if bits is None:  # a type the trick does not know: the plain way
        chosen = np.where(mask, grad, grad.dtype.type(0))
        if out is None:
            return chosen
        out[...] = chosen
        return out
    if out is None:
        out = np.empty(grad.shape, dtype=grad.dtype)
    target = out.view(bits)
    # True is 1 as int8; its negation is -1, all ones once widened: the AND keeps every bit.
    np.negative(mask.view(np.int8), out=target, casting="unsafe")
    np.bitwise_and(grad.view(bits), target, out=target)
    return out


def relu_gradient(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """grad where x > 0, else +0 (relu'(0) = 0, as in torch), in flat runs on threads."""
    out = np.empty(grad.shape, dtype=grad.dtype)
    flat_x, flat_grad, flat_out = (np.reshape(a, -1) for a in (x, grad, out))
    size = flat_out.size
    threads = thread_count() if size >= ELEMENTWISE_THREADS_MIN_CELLS else 1
    in_flat_runs(
        size,
        threads,
        lambda part: kept(flat_grad[part], np.greater(flat_x[part], 0), out=flat_out[part]),
    )
    return out


def first_maxima(values: list[np.ndarray], best: np.ndarray | None = None) -> np.ndarray:
    """For each pool window, the index of the tap that holds its first maximum in row-major
    window order (PyTorch's tie rule): only a strictly greater value takes over. `values`:
    each tap's values, in that order; `best`: a buffer of their shape for the running best.

    Branch-free: fmax leaves the running best where a tap is NaN (as `>` does not
    take it), and since t exceeds every earlier winner, max(winner, t * better) is t
    exactly where the tap is better. A window whose first tap is NaN keeps tap 0,
    as no value is greater than NaN.
    """
    first = values[0]
    winner = np.zeros(first.shape, dtype=np.min_scalar_type(len(values)))
    better = np.empty(first.shape, dtype=bool)
    step = np.empty_like(winner)
    running = first
    for t, view in enumerate(values[1:], start=1):
        np.greater(view, running, out=better)
        if t < len(values) - 1:  # the last tap's best is never read
            running = np.fmax(running, view, out=best)  # a buffer of its own from t = 1
        np.multiply(better.view(np.uint8), winner.dtype.type(t), out=step)
        np.maximum(winner, step, out=winner)
    if np.issubdtype(first.dtype, np.floating):
        nan = np.isnan(first)
        if nan.any():
            winner[nan] = 0
    return winner


def max_pool_gradient(
    padded: np.ndarray,
    grad: np.ndarray,
    taps: list[Tap],
    row_stride: int,
    apart: bool,
    tiled: bool = False,
    output: np.ndarray | None = None,
) -> np.ndarray:
    """dL/d the pool's framed input: each window's gradient to its first maximum, block of
    output rows by block. `output`: the forward's result on `padded`, if the caller kept it:
    the first tap equal to it is then the first maximum, found in one comparison per tap
    (0.61 against 0.77 ms at 3 x 254^2 float64). `apart`: no two windows share a cell
    (stride >= span), so each tap's cells are written once, not added to, and blocks run
    on threads (numpy_threads.py); `tiled`: besides, the windows cover the frame, so no cell needs
    zeros first (fresh zeroed pages cost 3 x 1022^2 float64 a third of its backward in
    page faults). Overlapping windows add into shared cells: their blocks run in order on
    one thread, so the sums never depend on the thread count. Either way the result is
    torch's, which adds into zeros: a -0.0 gradient arrives as +0.0.

    A tap's cells are every stride-th of a row: the arithmetic runs on contiguous copies
    of them (SIMD), and only the copies in and out walk the strides. Each thread keeps
    its block's buffers from call to call (fresh ones cost a 3 x 254^2 float64 backward
    twice its time in page faults).
    """
    fresh = np.empty if apart and tiled else np.zeros
    frame = fresh(padded.shape, dtype=grad.dtype)
    channels, rows, cols = grad.shape
    block = max(1, min(rows, POOL_BLOCK_CELLS // max(1, channels * cols)))
    threads = thread_count() if apart and grad.size >= POOL_THREADS_MIN_CELLS else 1
    if threads > 1:  # a few blocks per thread, for whichever thread the machine holds back
        block = min(block, -(-rows // (2 * threads)))
    shape = (channels, block, cols)
    cells = channels * block * cols
    if output is not None and _matched(output, grad.dtype):
        WORKERS.run(
            lambda handout: _routed(
                frame, padded, output, grad, taps, handout, shape, row_stride, apart
            ),
            range(0, rows, block),
            threads,
        )
        return frame

    def work(handout: Iterator[int]) -> None:
        flat = _buffers(
            (len(taps) * cells, cells, cells, cells), (padded.dtype,) * 2 + (grad.dtype,) * 2
        )
        values = flat[0].reshape(len(taps), *shape)
        best, share, source = (buffer.reshape(shape) for buffer in flat[1:])
        won = np.empty(shape, dtype=bool)
        for top in handout:
            n = min(block, rows - top)
            here = [_rows(tap, top, n, row_stride) for tap in taps]
            for t, tap in enumerate(here):
                np.copyto(values[t, :, :n], padded[tap])
            winner = first_maxima(list(values[:, :, :n]), best[:, :n])
            # + 0.0 turns -0.0 into +0.0, as adding into zeros does
            np.add(grad[:, top : top + n], grad.dtype.type(0), out=source[:, :n])
            for t, tap in enumerate(here):
                np.equal(winner, t, out=won[:, :n])
                kept(source[:, :n], won[:, :n], out=share[:, :n])
                if apart:
                    np.copyto(frame[tap], share[:, :n])
                else:
                    frame[tap] += share[:, :n]

    WORKERS.run(work, range(0, rows, block), threads)
    return frame


def _buffers(sizes: tuple[int, ...], dtypes: tuple[np.dtype, ...]) -> list[np.ndarray]:
    """Flat buffers of these sizes and dtypes: the thread's own, kept from call to call,
    when all share one dtype (as in a run), else fresh ones."""
    if len(set(dtypes)) == 1:
        return thread_buffers(sizes, dtypes[0])
    return [np.empty(size, dtype) for size, dtype in zip(sizes, dtypes, strict=True)]


def _matched(output: np.ndarray, dtype: np.dtype) -> bool:
    """Whether the comparison with the forward's output finds torch's winners: with a NaN
    maximum it would not (NaN equals nothing), and the clearing below works on the bits of
    the float types _BITS knows."""
    return dtype in _BITS and not np.isnan(output).any()


def _routed(
    frame: np.ndarray,
    padded: np.ndarray,
    output: np.ndarray,
    grad: np.ndarray,
    taps: list[Tap],
    handout: Iterator[int],
    shape: tuple[int, int, int],
    row_stride: int,
    apart: bool,
) -> None:
    """max_pool_gradient's blocks when the forward's output is known. Taps in row-major
    order: a tap equal to its window's maximum takes what is left of the window's gradient,
    which then becomes +0, so on a tie the first maximum has it all (torch's rule)."""
    rows, block, cells = grad.shape[1], shape[1], math.prod(shape)
    share, source = (b.reshape(shape) for b in _buffers((cells, cells), (grad.dtype,) * 2))
    won = np.empty(shape, dtype=bool)
    bits = _BITS[grad.dtype]
    for top in handout:
        n = min(block, rows - top)
        left, part, taken = source[:, :n], share[:, :n], won[:, :n]
        maximum = output[:, top : top + n]
        # + 0.0 turns -0.0 into +0.0, as adding into zeros does
        np.add(grad[:, top : top + n], grad.dtype.type(0), out=left)
        for t, tap in enumerate(taps):
            view = _rows(tap, top, n, row_stride)
            np.equal(padded[view], maximum, out=taken)
            kept(left, taken, out=part)
            if apart:
                np.copyto(frame[view], part)
            else:
                frame[view] += part
            if t < len(taps) - 1:  # the share leaves the window: its bits XOR to +0
                np.bitwise_xor(left.view(bits), part.view(bits), out=left.view(bits))


def _rows(tap: Tap, top: int, n: int, stride: int) -> Tap:
    """The tap's slice for output rows top .. top + n - 1 only."""
    channels, rows, cols = tap
    start = (rows.start or 0) + top * stride
    return (channels, slice(start, start + (n - 1) * stride + 1, stride), cols)
