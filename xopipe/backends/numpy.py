"""The fast CPU backend: vectorized NumPy, no Python loop over output cells.

conv is im2col in row tiles followed by a BLAS matmul, so its extra memory
is one tile of patches however large the input; pooling combines the
k*k strided views of the input elementwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.lib.stride_tricks import as_strided

from xopipe.backends.base import HostArrays
from xopipe.geometry import Pads, Pair, conv_out, pool_out

# np.pad's names for PyTorch's padding modes.
_NP_PAD_MODE = {
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


class NumpyBackend(HostArrays):
    name = "numpy"

    def pad2d(self, x: np.ndarray, pads: Pads, mode: str, value: float) -> np.ndarray:
        left, right, top, bottom = pads
        width = ((0, 0), (top, bottom), (left, right))
        if mode == "constant":
            return np.pad(x, width, mode="constant", constant_values=value)
        return np.pad(x, width, mode=_NP_PAD_MODE[mode])  # type: ignore[call-overload]

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
        (sh, sw), (dh, dw) = stride, dilation
        rows = conv_out(padded.shape[1], kh, sh, dh, 0, 0)
        cols = conv_out(padded.shape[2], kw, sw, dw, 0, 0)
        depth = group_channels * kh * kw
        per_group = kernels // groups
        tile_rows = max(1, min(rows, TILE_POSITIONS // cols, TILE_ELEMENTS // (depth * cols)))

        out = np.empty((kernels, rows * cols), dtype=x.dtype)
        patches = np.empty((depth, tile_rows * cols), dtype=x.dtype)
        stride_c, stride_h, stride_w = padded.strides
        column_bias = bias.reshape(kernels, 1).astype(x.dtype, copy=False)
        for g in range(groups):
            kernel_rows = slice(g * per_group, (g + 1) * per_group)
            matrix = weight[kernel_rows].reshape(per_group, depth)
            channels = padded[g * group_channels : (g + 1) * group_channels]
            for top in range(0, rows, tile_rows):
                n = min(tile_rows, rows - top)
                # Every (channel, ki, kj) tap of the window for n output rows, as a view.
                windows = as_strided(
                    channels[:, top * sh :, :],
                    shape=(group_channels, kh, kw, n, cols),
                    strides=(stride_c, dh * stride_h, dw * stride_w, sh * stride_h, sw * stride_w),
                    writeable=False,
                )
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
        views = _pool_views(x, size, stride, padding, dilation, ceil_mode, fill=-np.inf)
        out = next(views).copy()
        for view in views:
            np.maximum(out, view, out=out)
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
        views = _pool_views(x, size, stride, padding, (1, 1), ceil_mode, fill=0.0)
        out = next(views).copy()
        for view in views:
            np.add(out, view, out=out)
        _, height, width = x.shape
        (kh, kw), (sh, sw), (ph, pw) = size, stride, padding
        rows_count = _window_counts(height, out.shape[1], kh, sh, ph, count_include_pad)
        cols_count = _window_counts(width, out.shape[2], kw, sw, pw, count_include_pad)
        out /= np.multiply.outer(rows_count, cols_count).astype(x.dtype)
        return out

    def activation(self, name: str, x: np.ndarray, params: Mapping[str, float | str]) -> np.ndarray:
        return ACTIVATION[name](x, params)


def _pool_views(
    x: np.ndarray,
    size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    ceil_mode: bool,
    fill: float,
):
    """Yield, for each tap (a, b) of the window, the strided view it reads."""
    channels, height, width = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = size, stride, padding, dilation
    rows = pool_out(height, kh, sh, ph, dh, ceil_mode)
    cols = pool_out(width, kw, sw, pw, dw, ceil_mode)
    # ceil_mode's last window may run past the padding: give it room, filled too.
    need_h = (rows - 1) * sh + dh * (kh - 1) + 1
    need_w = (cols - 1) * sw + dw * (kw - 1) + 1
    full_h, full_w = max(need_h, height + 2 * ph), max(need_w, width + 2 * pw)
    if (full_h, full_w) != (height, width):
        padded = np.full((channels, full_h, full_w), fill, dtype=x.dtype)
        padded[:, ph : ph + height, pw : pw + width] = x
    else:
        padded = x
    for a in range(kh):
        for b in range(kw):
            top, left = a * dh, b * dw
            yield padded[
                :, top : top + (rows - 1) * sh + 1 : sh, left : left + (cols - 1) * sw + 1 : sw
            ]


def _window_counts(n: int, outputs: int, size: int, stride: int, pad: int, include_pad: bool):
    """Per output index along one axis: how many cells avg_pool2d divides by."""
    starts = np.arange(outputs) * stride - pad
    ends = np.minimum(starts + size, n + pad)
    if include_pad:
        return ends - starts
    return np.minimum(ends, n) - np.maximum(starts, 0)


_ERF = np.frompyfunc(math.erf, 1, 1)

Params = Mapping[str, float | str]


def _leaky_relu(x: np.ndarray, params: Params) -> np.ndarray:
    return np.where(x > 0, x, x * x.dtype.type(float(params["negative_slope"])))


def _elu(x: np.ndarray, params: Params) -> np.ndarray:
    alpha = x.dtype.type(float(params["alpha"]))
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _gelu(x: np.ndarray, params: Params) -> np.ndarray:
    if params["approximate"] == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x**3)))
    # NumPy has no erf; math.erf per element is exact and still loop-free in Python code.
    erf = np.asarray(_ERF(x / math.sqrt(2.0))).astype(x.dtype)
    return 0.5 * x * (1.0 + erf)


def _sigmoid(x: np.ndarray, params: Params) -> np.ndarray:
    # exp(-log(1 + exp(-x))) never overflows, unlike 1 / (1 + exp(-x)).
    return np.exp(-np.logaddexp(0, -x))


def _softplus(x: np.ndarray, params: Params) -> np.ndarray:
    beta = x.dtype.type(float(params["beta"]))
    z = x * beta
    return np.where(z > float(params["threshold"]), x, np.logaddexp(0, z) / beta)


ACTIVATION = {
    "relu": lambda x, params: np.maximum(x, 0),
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "gelu": _gelu,
    "sigmoid": _sigmoid,
    "tanh": lambda x, params: np.tanh(x),
    "softplus": _softplus,
    "identity": lambda x, params: x.copy(),
}
