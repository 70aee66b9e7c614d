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

import numpy as np

# Each float type and the integer type of its width.
_BITS = {
    np.dtype(np.float64): np.int64,
    np.dtype(np.float32): np.int32,
    np.dtype(np.float16): np.int16,
}

Tap = tuple[slice, slice, slice]


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


def first_maxima(padded: np.ndarray, taps: list[Tap]) -> np.ndarray:
    """For each pool window, the index of the tap that holds its first maximum in row-major
    window order (PyTorch's tie rule): only a strictly greater value takes over.

    Branch-free: fmax leaves the running best where a tap is NaN (as `>` does not
    take it), and since t exceeds every earlier winner, max(winner, t * better) is t
    exactly where the tap is better. A window whose first tap is NaN keeps tap 0,
    as no value is greater than NaN.
    """
    first = padded[taps[0]]
    best = first.copy()
    winner = np.zeros(best.shape, dtype=np.min_scalar_type(len(taps)))
    better = np.empty(best.shape, dtype=bool)
    step = np.empty_like(winner)
    for t, tap in enumerate(taps[1:], start=1):
        view = padded[tap]
        np.greater(view, best, out=better)
        np.fmax(best, view, out=best)
        np.multiply(better.view(np.uint8), winner.dtype.type(t), out=step)
        np.maximum(winner, step, out=winner)
    if np.issubdtype(padded.dtype, np.floating):
        nan = np.isnan(first)
        if nan.any():
            winner[nan] = 0
    return winner
