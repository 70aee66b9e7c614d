"""The loop backend's backward pass: each output cell sends its gradient back, in plain loops.

Every primitive walks the output cells as its forward pass does (loop.py) and
adds the cell's gradient (dL/d that cell) into the input cells its value was
computed from, each times how much that input cell counted: its weight in a
conv, 1 for the winner of a max pool, 1/count in an average. An input cell
read by several windows gathers a share from each. The numbers are PyTorch's
(its CPU autograd): a max-pool tie goes to the first maximum in row-major
window order, relu'(0) = 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from xopipe.geometry import Pads, Pair, effective_size, source_index

Params = Mapping[str, float | str]
Shape = tuple[int, int, int]


class LoopBackward:
    """The gradient primitives of LoopBackend (base.Backend names them all)."""

    # Provided by LoopBackend: its forward padding and its progress report.
    pad2d: Callable[[np.ndarray, Pads, str, float], np.ndarray]
    _row_done: Callable[[str, int, int], None]

    def pad2d_backward(
        self, grad: np.ndarray, pads: Pads, mode: str, input_shape: Shape
    ) -> np.ndarray:
        left, _, top, _ = pads
        _, rows, cols = input_shape
        out = np.zeros(input_shape, dtype=grad.dtype)
        for i in range(grad.shape[1]):
            src_row = source_index(i - top, rows, mode)
            for j in range(grad.shape[2]):
                src_col = source_index(j - left, cols, mode)
                # A copied cell adds into its source; a constant fill has none.
                if src_row is not None and src_col is not None:
                    out[:, src_row, src_col] += grad[:, i, j]
        return out

    def conv2d_backward(
        self,
        x: np.ndarray,
        weight: np.ndarray,
        grad: np.ndarray,
        *,
        stride: Pair,
        pads: Pads,
        dilation: Pair,
        groups: int,
        padding_mode: str,
        divisor: float | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mode = "constant" if padding_mode == "zeros" else padding_mode
        padded = self.pad2d(x, pads, mode, 0.0)
        kernels, group_channels, kh, kw = weight.shape
        (sh, sw), (dh, dw) = stride, dilation
        span_h, span_w = effective_size(kh, dh), effective_size(kw, dw)
        kernels_per_group = kernels // groups
        _, rows, cols = grad.shape
        grad_padded = np.zeros_like(padded)
        grad_weight = np.zeros(weight.shape, dtype=x.dtype)
        grad_bias = np.zeros(kernels, dtype=x.dtype)
        for k in range(kernels):
            first = (k // kernels_per_group) * group_channels
            for i in range(rows):
                for j in range(cols):
                    top, left = i * sh, j * sw
                    window = (
                        slice(first, first + group_channels),
                        slice(top, top + span_h, dh),
                        slice(left, left + span_w, dw),
                    )
                    g = grad[k, i, j]
                    grad_bias[k] += g  # the bias is added after the division: all of g
                    if divisor is not None:
                        g = g / divisor
                    # cell = sum(window * kernel) / divisor + bias: each weight's share is
                    # the window cell it multiplied, each window cell's is its weight.
                    grad_weight[k] += g * padded[window]
                    grad_padded[window] += g * weight[k]
                self._row_done("conv backward", k * rows + i + 1, kernels * rows)
        # Padding cells copied from the input (reflect, ...) hand their share back.
        return self.pad2d_backward(grad_padded, pads, mode, x.shape), grad_weight, grad_bias

    def max_pool2d_backward(
        self,
        x: np.ndarray,
        grad: np.ndarray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        ceil_mode: bool,
        output: np.ndarray | None = None,  # unused: the maxima are found here
    ) -> np.ndarray:
        channels, height, width = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = size, stride, padding, dilation
        _, rows, cols = grad.shape
        out = np.zeros_like(x)
        for c in range(channels):
            for i in range(rows):
                for j in range(cols):
                    # The window's cells inside the input, in row-major order: the first
                    # one, then any strictly greater, wins (a tie keeps the earlier cell,
                    # as in PyTorch). Padding (-inf) is skipped: it never wins.
                    winner, best = None, -math.inf
                    for r in range(i * sh - ph, i * sh - ph + kh * dh, dh):
                        for q in range(j * sw - pw, j * sw - pw + kw * dw, dw):
                            inside = 0 <= r < height and 0 <= q < width
                            if inside and (winner is None or x[c, r, q] > best):
                                winner, best = (r, q), x[c, r, q]
                    # Only the winner counted in the max: it takes all the gradient. A
                    # window wholly in the padding read no cell and passes none back.
                    if winner is not None:
                        out[c, winner[0], winner[1]] += grad[c, i, j]
                self._row_done("max pool backward", c * rows + i + 1, channels * rows)
        return out

    def avg_pool2d_backward(
        self,
        input_shape: Shape,
        grad: np.ndarray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> np.ndarray:
        channels, height, width = input_shape
        (kh, kw), (sh, sw), (ph, pw) = size, stride, padding
        _, rows, cols = grad.shape
        out = np.zeros(input_shape, dtype=grad.dtype)
        for c in range(channels):
            for i in range(rows):
                for j in range(cols):
                    # The forward's window and count (loop.py's avg_pool2d), unchanged.
                    top, left = i * sh - ph, j * sw - pw
                    bottom, right = min(top + kh, height + ph), min(left + kw, width + pw)
                    r0, r1 = max(top, 0), min(bottom, height)
                    q0, q1 = max(left, 0), min(right, width)
                    if count_include_pad:
                        count = (bottom - top) * (right - left)
                    else:
                        count = (r1 - r0) * (q1 - q0)
                    # Each input cell of the window counted 1/count in the mean.
                    out[c, r0:r1, q0:q1] += grad[c, i, j] / count
                self._row_done("avg pool backward", c * rows + i + 1, channels * rows)
        return out

    def activation_backward(
        self, name: str, x: np.ndarray, grad: np.ndarray, params: Params
    ) -> np.ndarray:
        passes = SCALAR_GRADIENT[name](params)
        out = np.empty_like(grad)
        for index, value in np.ndenumerate(x):
            out[index] = passes(float(value), float(grad[index]))
        return out


# Each activation's backward on one cell: (x, dL/dy) -> dL/dx = dL/dy * f'(x),
# written as in the textbooks, with PyTorch's choice where f has a kink.
ScalarGradient = Callable[[float, float], float]


def _leaky_relu(params: Params) -> ScalarGradient:
    slope = float(params["negative_slope"])
    return lambda v, g: g if v > 0 else g * slope  # at 0: the slope, as PyTorch


def _elu(params: Params) -> ScalarGradient:
    alpha = float(params["alpha"])
    return lambda v, g: g if v > 0 else g * alpha * math.exp(v)  # at 0: alpha


def _gelu(params: Params) -> ScalarGradient:
    if params["approximate"] == "tanh":
        c, kappa = math.sqrt(2.0 / math.pi), 0.044715

        def gelu_tanh(v: float, g: float) -> float:
            t = math.tanh(c * (v + kappa * v**3))
            return g * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3 * kappa * v * v))

        return gelu_tanh
    # d/dv v * Phi(v) = Phi(v) + v * phi(v), Phi and phi the normal cdf and density.
    return lambda v, g: (
        g
        * (
            0.5 * (1.0 + math.erf(v / math.sqrt(2.0)))
            + v * math.exp(-0.5 * v * v) / math.sqrt(2.0 * math.pi)
        )
    )


def _sigmoid_slope(v: float) -> float:
    """sigmoid'(v) = sigmoid(v) * (1 - sigmoid(v)), in the form that never overflows."""
    e = math.exp(-abs(v))
    return e / (1.0 + e) ** 2


def _softplus(params: Params) -> ScalarGradient:
    beta, threshold = float(params["beta"]), float(params["threshold"])
    # Above the threshold the forward returns v itself: slope 1.
    return lambda v, g: g if beta * v > threshold else g * _sigmoid(beta * v)


def _sigmoid(z: float) -> float:
    """softplus' is sigmoid(beta * v); this form cannot overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


SCALAR_GRADIENT: dict[str, Callable[[Params], ScalarGradient]] = {
    "relu": lambda params: lambda v, g: g if v > 0 else 0.0,  # relu'(0) = 0, as PyTorch
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "gelu": _gelu,
    "sigmoid": lambda params: lambda v, g: g * _sigmoid_slope(v),
    "tanh": lambda params: lambda v, g: g * (1.0 - math.tanh(v) ** 2),
    "softplus": _softplus,
    "identity": lambda params: lambda v, g: g,
}
