"""The strided views the numpy backend reads windows through, forward and backward.

A window op is computed tap by tap: for each position (a, b) of the window,
one strided view holds the input cell that tap reads for every output cell.
The forward pass reads those views; the backward pass adds into the same
views of a gradient buffer, so both walk the windows identically.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from xopipe.geometry import Pair, pool_out, pool_reach

# np.pad's names for PyTorch's padding modes.
NP_PAD_MODE = {
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
}

# Output positions per tile of im2col patches: enough columns for an efficient
# matmul, few enough to stay near the caches (measured best of 2^14..2^17 for
# K3 k3 and K16 k5 kernels); TILE_ELEMENTS caps the patches of deep kernels.
TILE_POSITIONS = 1 << 15
TILE_ELEMENTS = 1 << 22

Tap = tuple[slice, slice, slice]


def tile_rows(rows: int, cols: int, depth: int, positions: int = TILE_POSITIONS) -> int:
    """How many output rows one tile of im2col patches (depth x positions) holds."""
    return max(1, min(rows, positions // cols, TILE_ELEMENTS // (depth * cols)))


def conv_windows(
    channels: np.ndarray, top: int, n: int, cols: int, size: Pair, stride: Pair, dilation: Pair
) -> np.ndarray:
    """Every (channel, ki, kj) tap of the window for n output rows from `top`, as a view.

    Shaped [channels, kh, kw, n, cols]; `channels` is the padded input of one group.
    """
    (kh, kw), (sh, sw), (dh, dw) = size, stride, dilation
    stride_c, stride_h, stride_w = channels.strides
    return as_strided(
        channels[:, top * sh :, :],
        shape=(channels.shape[0], kh, kw, n, cols),
        strides=(stride_c, dh * stride_h, dw * stride_w, sh * stride_h, sw * stride_w),
        writeable=False,
    )


def pool_frame(
    shape: tuple[int, ...],
    size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    ceil_mode: bool,
) -> tuple[Pair, list[Tap]]:
    """The extent (rows, cols) the windows read, padding included, and each tap's slice of it.

    Tap (a, b)'s slice holds, for every output cell, the cell of the padded
    input at that position of its window; taps run in row-major window order.
    """
    _, height, width = shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = size, stride, padding, dilation
    rows = pool_out(height, kh, sh, ph, dh, ceil_mode)
    cols = pool_out(width, kw, sw, pw, dw, ceil_mode)
    # ceil_mode's last window may run past the padding: the frame gives it room.
    full = (
        pool_reach(height, kh, sh, ph, dh, ceil_mode),
        pool_reach(width, kw, sw, pw, dw, ceil_mode),
    )
    taps = [
        (
            slice(None),
            slice(a * dh, a * dh + (rows - 1) * sh + 1, sh),
            slice(b * dw, b * dw + (cols - 1) * sw + 1, sw),
        )
        for a in range(kh)
        for b in range(kw)
    ]
    return full, taps


def framed(x: np.ndarray, padding: Pair, full: Pair, fill: float) -> np.ndarray:
    """x placed in a frame of `fill` of size `full` (x itself when none is needed)."""
    channels, height, width = x.shape
    if full == (height, width):
        return x
    ph, pw = padding
    padded = np.full((channels, *full), fill, dtype=x.dtype)
    padded[:, ph : ph + height, pw : pw + width] = x
    return padded


def unframed(grad: np.ndarray, padding: Pair, shape: tuple[int, ...]) -> np.ndarray:
    """The part of a frame-sized gradient that belongs to the input (the frame's is dropped)."""
    _, height, width = shape
    ph, pw = padding
    if grad.shape[1:] == (height, width):
        return grad
    return np.ascontiguousarray(grad[:, ph : ph + height, pw : pw + width])


def window_counts(n: int, outputs: int, size: int, stride: int, pad: int, include_pad: bool):
    """Per output index along one axis: how many cells avg_pool2d divides by."""
    starts = np.arange(outputs) * stride - pad
    ends = np.minimum(starts + size, n + pad)
    if include_pad:
        return ends - starts
    return np.minimum(ends, n) - np.maximum(starts, 0)


def fold_padding(grad: np.ndarray, n: int, before: int, after: int, mode: str) -> np.ndarray:
    """The backward of padding the last axis: each padded cell adds into the cell it copies.

    The source of each padded position is np.pad's own rule, applied to the
    cells' indices; a constant fill copies nothing and gets no gradient.
    """
    inner = grad[..., before : before + n]
    if mode == "constant" or before + after == 0:
        return np.ascontiguousarray(inner)
    out = inner.copy()  # never a view: the border adds into it
    source = np.pad(np.arange(n), (before, after), mode=NP_PAD_MODE[mode])  # type: ignore[call-overload]
    border = np.r_[0:before, before + n : before + n + after]
    np.add.at(out.T, source[border], grad[..., border].T)  # .T: the padded axis first
    return out
