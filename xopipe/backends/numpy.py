"""The fast CPU backend: vectorized NumPy, no Python loop over output cells.

conv is im2col in row tiles followed by a BLAS matmul, so its extra memory
is one tile of patches however large the input; pooling combines the
k*k strided views of the input elementwise (numpy_views.py). The backward
pass, as vectorized, is in numpy_backward.py.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from xopipe.backends.base import HostArrays
from xopipe.backends.numpy_activations import ACTIVATION
from xopipe.backends.numpy_backward import NumpyBackward
from xopipe.backends.numpy_views import (
    NP_PAD_MODE,
    conv_windows,
    framed,
    pool_frame,
    tile_rows,
    window_counts,
)
from xopipe.geometry import Pads, Pair, conv_out


class NumpyBackend(NumpyBackward, HostArrays):
    name = "numpy"

    def pad2d(self, x: np.ndarray, pads: Pads, mode: str, value: float) -> np.ndarray:
        left, right, top, bottom = pads
        width = ((0, 0), (top, bottom), (left, right))
        if mode == "constant":
            return np.pad(x, width, mode="constant", constant_values=value)
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
        kernels, group_channels, kh, kw = weight.shape
        rows = conv_out(padded.shape[1], kh, stride[0], dilation[0], 0, 0)
        cols = conv_out(padded.shape[2], kw, stride[1], dilation[1], 0, 0)
        depth = group_channels * kh * kw
        per_group = kernels // groups
        tile = tile_rows(rows, cols, depth)

        out = np.empty((kernels, rows * cols), dtype=x.dtype)
        patches = np.empty((depth, tile * cols), dtype=x.dtype)
        column_bias = bias.reshape(kernels, 1).astype(x.dtype, copy=False)
        for g in range(groups):
            kernel_rows = slice(g * per_group, (g + 1) * per_group)
            matrix = weight[kernel_rows].reshape(per_group, depth)
            channels = padded[g * group_channels : (g + 1) * group_channels]
            for top in range(0, rows, tile):
                n = min(tile, rows - top)
                windows = conv_windows(channels, top, n, cols, (kh, kw), stride, dilation)
                block = patches[:, : n * cols]
                np.copyto(block.reshape(group_channels, kh, kw, n, cols), windows)
                target = out[kernel_rows, top * cols : (top + n) * cols]
                np.matmul(matrix, block, out=target)
                if divisor is not None:
                    target /= divisor
                target += column_bias[kernel_rows]
        return out.reshape(kernels, rows, cols)

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
        full, taps = pool_frame(x.shape, size, stride, padding, dilation, ceil_mode)
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
        full, taps = pool_frame(x.shape, size, stride, padding, (1, 1), ceil_mode)
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
