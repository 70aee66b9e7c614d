"""The fast CPU backend: vectorized NumPy, no Python loop over output cells.

conv multiplies the kernels with patches of the input in BLAS, the strategy
chosen by shape (numpy_conv.py); its extra memory is a cache-sized buffer
per thread however large the input. Pooling combines the
k*k strided views of the input elementwise (numpy_views.py). The backward
pass, as vectorized, is in numpy_backward.py.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from xopipe.backends import numpy_conv
from xopipe.backends.base import HostArrays
from xopipe.backends.numpy_activations import ACTIVATION
from xopipe.backends.numpy_backward import NumpyBackward
from xopipe.backends.numpy_memory import keep_freed_pages
from xopipe.backends.numpy_views import (
    NP_PAD_MODE,
    framed,
    pool_frame,
    window_counts,
)
from xopipe.geometry import Pads, Pair

# A pool's taps depend only on the shapes: computed once per shape, not per call
# (their Python arithmetic was most of a small pool's time).
_pool_frame = functools.lru_cache(maxsize=256)(pool_frame)


class NumpyBackend(NumpyBackward, HostArrays):
    name = "numpy"

    def __init__(self) -> None:
        keep_freed_pages()  # each stage's array reuses freed pages (numpy_memory.py)

    def pad2d(self, x: np.ndarray, pads: Pads, mode: str, value: float) -> np.ndarray:
        left, right, top, bottom = pads
        if mode == "constant":  # np.pad's numbers, without its ~20 us of bookkeeping
            channels, height, width = x.shape
            out = np.empty((channels, top + height + bottom, left + width + right), x.dtype)
            rows = slice(top, top + height)
            out[:, rows, left : left + width] = x
            for border in (out[:, :top], out[:, top + height :], out[:, rows, :left]):
                border.fill(value)
            out[:, rows, left + width :].fill(value)
            return out
        width = ((0, 0), (top, bottom), (left, right))
        return np.pad(x, width, mode=NP_PAD_MODE[mode])  # type: ignore[call-overload]

    def conv2d(
        self,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray,
        *,
        stride: Pair,
        pads: Pads,
        dilation: Pair,
        groups: int,
        padding_mode: str,
        divisor: float | None,
    ) -> np.ndarray:
        mode = "constant" if padding_mode == "zeros" else padding_mode
        padded = np.ascontiguousarray(self.pad2d(x, pads, mode, 0.0) if any(pads) else x)
        weight = weight.astype(padded.dtype, copy=False)
        return numpy_conv.conv2d(padded, weight, bias, stride, dilation, groups, divisor)

    def max_pool2d(
        self,
        x: np.ndarray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        ceil_mode: bool,
    ) -> np.ndarray:
        full, taps = _pool_frame(x.shape, size, stride, padding, dilation, ceil_mode)
        padded = framed(x, padding, full, -np.inf)  # padding is -inf: it never wins
        out = padded[taps[0]].copy()
        for tap in taps[1:]:
            np.maximum(out, padded[tap], out=out)
        return out

    def avg_pool2d(
        self,
        x: np.ndarray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> np.ndarray:
        full, taps = _pool_frame(x.shape, size, stride, padding, (1, 1), ceil_mode)
        padded = framed(x, padding, full, 0.0)
        out = padded[taps[0]].copy()
        for tap in taps[1:]:
            np.add(out, padded[tap], out=out)
        _, height, width = x.shape
        (kh, kw), (sh, sw), (ph, pw) = size, stride, padding
        rows_count = window_counts(height, out.shape[1], kh, sh, ph, count_include_pad)
        cols_count = window_counts(width, out.shape[2], kw, sw, pw, count_include_pad)
        out /= np.multiply.outer(rows_count, cols_count).astype(x.dtype)
        return out

    def activation(self, name: str, x: np.ndarray, params: Mapping[str, float | str]) -> np.ndarray:
        return ACTIVATION[name](x, params)
