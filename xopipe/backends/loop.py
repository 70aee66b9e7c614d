"""The reference backend: explicit Python loops over output cells, like the seed.

Slow on purpose and easy to read: every output cell is computed from its
window in plain sight. The numpy and torch backends are tested against it
and against PyTorch. The backward pass, as plain, is in loop_backward.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from xopipe.backends.base import HostArrays
from xopipe.backends.loop_backward import LoopBackward
from xopipe.geometry import Pads, Pair, conv_out, effective_size, pool_out, source_index


class LoopBackend(LoopBackward, HostArrays):
    name = "loop"

    def __init__(self, progress: Callable[[str, float], None] | None = None) -> None:
        # progress(what, fraction done) after each output row, for long runs.
        self.progress = progress

    def _row_done(self, what: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(what, done / total)

    def pad2d(self, x: np.ndarray, pads: Pads, mode: str, value: float) -> np.ndarray:
        left, right, top, bottom = pads
        channels, rows, cols = x.shape
        out = np.full((channels, rows + top + bottom, cols + left + right), value, dtype=x.dtype)
        for i in range(out.shape[1]):
            src_row = source_index(i - top, rows, mode)
            for j in range(out.shape[2]):
                src_col = source_index(j - left, cols, mode)
                if src_row is not None and src_col is not None:
                    out[:, i, j] = x[:, src_row, src_col]
        return out

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
        padded = self.pad2d(x, pads, mode, 0.0)
        kernels, group_channels, kh, kw = weight.shape
        (sh, sw), (dh, dw) = stride, dilation
        rows = conv_out(padded.shape[1], kh, sh, dh, 0, 0)
        cols = conv_out(padded.shape[2], kw, sw, dw, 0, 0)
        span_h, span_w = effective_size(kh, dh), effective_size(kw, dw)
        kernels_per_group = kernels // groups
        out = np.empty((kernels, rows, cols), dtype=x.dtype)
        for k in range(kernels):
            first = (k // kernels_per_group) * group_channels
            channels = padded[first : first + group_channels]
            for i in range(rows):
                for j in range(cols):
                    top, left = i * sh, j * sw
                    window = channels[:, top : top + span_h : dh, left : left + span_w : dw]
                    total = np.sum(window * weight[k])
                    if divisor is not None:
                        total = total / divisor
                    out[k, i, j] = total + bias[k]
                self._row_done("conv", k * rows + i + 1, kernels * rows)
        return out

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
        channels, height, width = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = size, stride, padding, dilation
        rows = pool_out(height, kh, sh, ph, dh, ceil_mode)
        cols = pool_out(width, kw, sw, pw, dw, ceil_mode)
        out = np.empty((channels, rows, cols), dtype=x.dtype)
        for c in range(channels):
            for i in range(rows):
                for j in range(cols):
                    # Window cells outside the input are padding (-inf): skip them.
                    cells = [
                        x[c, r, q]
                        for r in range(i * sh - ph, i * sh - ph + kh * dh, dh)
                        for q in range(j * sw - pw, j * sw - pw + kw * dw, dw)
                        if 0 <= r < height and 0 <= q < width
                    ]
                    # A dilated window can fall wholly in the padding: -inf, as in PyTorch.
                    out[c, i, j] = max(cells, default=-math.inf)
                self._row_done("max pool", c * rows + i + 1, channels * rows)
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
        channels, height, width = x.shape
        (kh, kw), (sh, sw), (ph, pw) = size, stride, padding
        rows = pool_out(height, kh, sh, ph, 1, ceil_mode)
        cols = pool_out(width, kw, sw, pw, 1, ceil_mode)
        out = np.empty((channels, rows, cols), dtype=x.dtype)
        for c in range(channels):
            for i in range(rows):
                for j in range(cols):
                    top, left = i * sh - ph, j * sw - pw
                    # A window may hang over the padding; it never counts past it.
                    bottom, right = min(top + kh, height + ph), min(left + kw, width + pw)
                    r0, r1 = max(top, 0), min(bottom, height)
                    q0, q1 = max(left, 0), min(right, width)
                    if count_include_pad:
                        count = (bottom - top) * (right - left)
                    else:
                        count = (r1 - r0) * (q1 - q0)
                    out[c, i, j] = np.sum(x[c, r0:r1, q0:q1]) / count
                self._row_done("avg pool", c * rows + i + 1, channels * rows)
        return out

    def activation(self, name: str, x: np.ndarray, params: Mapping[str, float | str]) -> np.ndarray:
        function = SCALAR_ACTIVATION[name](params)
        out = np.empty_like(x)
        for index, value in np.ndenumerate(x):
            out[index] = function(float(value))
        return out


def _sigmoid(v: float) -> float:
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)  # the form that cannot overflow for large negative v
    return e / (1.0 + e)


Params = Mapping[str, float | str]


def _gelu(params: Params) -> Callable[[float], float]:
    if params["approximate"] == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return lambda v: 0.5 * v * (1.0 + math.tanh(c * (v + 0.044715 * v**3)))
    return lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0)))


def _softplus(params: Params) -> Callable[[float], float]:
    beta, threshold = float(params["beta"]), float(params["threshold"])

    def softplus(v: float) -> float:
        z = beta * v
        if z > threshold:  # PyTorch returns the input itself above the threshold
            return v
        return (max(z, 0.0) + math.log1p(math.exp(-abs(z)))) / beta

    return softplus


def _leaky_relu(params: Params) -> Callable[[float], float]:
    slope = float(params["negative_slope"])
    return lambda v: v if v > 0 else v * slope


def _elu(params: Params) -> Callable[[float], float]:
    alpha = float(params["alpha"])
    return lambda v: v if v > 0 else alpha * math.expm1(v)


# Each activation as a function of one number, written as in the textbooks;
# the entry builds it from the activation's parameters.
SCALAR_ACTIVATION: dict[str, Callable[[Params], Callable[[float], float]]] = {
    "relu": lambda params: lambda v: v if v > 0 else 0.0,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "gelu": _gelu,
    "sigmoid": lambda params: _sigmoid,
    "tanh": lambda params: math.tanh,
    "softplus": _softplus,
    "identity": lambda params: lambda v: v,
}
