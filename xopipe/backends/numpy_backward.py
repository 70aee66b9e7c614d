"""The numpy backend's backward pass: the forward's strided views, added into.

conv's gradients are two matmuls per tile of im2col patches (dL/dweights =
dL/dy @ patches^T; the patches' gradient = weights^T @ dL/dy), the second
added back into the padded input one window tap at a time. With stride 1 both
work on one contiguous run of the input per tap (numpy_conv_rows.py), and
dL/dweights is a matrix-vector product per tap, no patches copied; a max pool finds each
window's first maximum (one comparison per tap with the forward's output, where the
pool passes it) and adds its gradient into that tap's view, in blocks
of rows and without a branch per cell (numpy_select.py). Within one tap no two
outputs share a cell, so every add is a plain vectorized `+=`. The numbers
are PyTorch's (its CPU autograd); loop_backward.py computes the same cell by
cell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from xopipe.backends.numpy_activations import GRADIENT
from xopipe.backends.numpy_conv_rows import add_rows, add_weight_products, wide_tile
from xopipe.backends.numpy_select import max_pool_gradient, relu_gradient
from xopipe.backends.numpy_threads import thread_buffers
from xopipe.backends.numpy_views import (
    TILE_POSITIONS,
    conv_windows,
    fold_padding,
    framed,
    pool_frame,
    tile_rows,
    unframed,
    window_counts,
)
from xopipe.geometry import Pads, Pair

Shape = tuple[int, int, int]


class NumpyBackward:
    """The gradient primitives of NumpyBackend (base.Backend names them all)."""

    pad2d: Callable[[np.ndarray, Pads, str, float], np.ndarray]  # NumpyBackend's own

    def pad2d_backward(
        self, grad: np.ndarray, pads: Pads, mode: str, input_shape: Shape
    ) -> np.ndarray:
        left, right, top, bottom = pads
        _, rows, cols = input_shape
        if mode == "constant":  # the fill copies nothing: the inside is the gradient
            return grad[:, top : top + rows, left : left + cols].copy()
        # Columns first, then rows: each padded cell adds into the cell it copies.
        out = fold_padding(grad, cols, left, right, mode)
        out = fold_padding(out.swapaxes(1, 2), rows, top, bottom, mode).swapaxes(1, 2)
        return np.ascontiguousarray(out)

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
        padded = np.ascontiguousarray(self.pad2d(x, pads, mode, 0.0) if any(pads) else x)
        kernels, group_channels, kh, kw = weight.shape
        _, rows, cols = grad.shape
        (sh, sw), (dh, dw) = stride, dilation
        depth = group_channels * kh * kw
        per_group = kernels // groups
        # Two tile-sized buffers (the patches and their gradient): half the forward's tile.
        tile = tile_rows(rows, cols, depth, TILE_POSITIONS // 2)

        grad_bias = grad.sum(axis=(1, 2))  # the bias is added after the division
        # The / divisor applies to the weights' products: it scales both gradients below.
        scale = 1.0 if divisor is None else 1.0 / divisor
        grad_weight = np.empty((kernels, depth), dtype=x.dtype)
        grad_padded = np.zeros_like(padded)
        # Stride 1: tiles of rows as wide as the input's (numpy_conv_rows), where the
        # extra cells meet zeros, which needs finite inputs and weights.
        finite = np.isfinite(weight).all() and np.isfinite(padded).all()
        width = padded.shape[2] if stride == (1, 1) and finite else 0
        # Wide tiles take the weights' gradient from the input's runs: no patches.
        patch_cells = 0 if width else depth * tile * cols
        patches, spreads, wide = thread_buffers(
            (patch_cells, depth * tile * max(cols, width), per_group * tile * width), x.dtype
        )
        for g in range(groups):
            kernel_rows = slice(g * per_group, (g + 1) * per_group)
            matrix = weight[kernel_rows].reshape(per_group, depth).astype(x.dtype) * scale
            group = slice(g * group_channels, (g + 1) * group_channels)
            channels, grad_channels = padded[group], grad_padded[group]
            total = np.zeros((per_group, depth), dtype=x.dtype)
            for top in range(0, rows, tile):
                n = min(tile, rows - top)
                if width:
                    grad_tile = wide_tile(grad[kernel_rows], top, n, width, wide)
                    add_weight_products(
                        total, channels, grad_tile, top, n, cols, (kh, kw), dilation
                    )
                    rows_out = spreads[: depth * n * width].reshape(depth, n * width)
                    np.matmul(matrix.T, grad_tile, out=rows_out)
                    shares = rows_out.reshape(group_channels, kh, kw, n * width)
                    add_rows(grad_channels, shares, top, n, cols, dilation)
                    continue
                grad_tile = grad[kernel_rows, top : top + n, :].reshape(per_group, n * cols)
                windows = conv_windows(channels, top, n, cols, (kh, kw), stride, dilation)
                block = patches[: depth * n * cols].reshape(depth, n * cols)
                np.copyto(block.reshape(group_channels, kh, kw, n, cols), windows)
                total += grad_tile @ block.T
                spread = spreads[: depth * n * cols].reshape(depth, n * cols)
                np.matmul(matrix.T, grad_tile, out=spread)
                spread = spread.reshape(group_channels, kh, kw, n, cols)
                for a in range(kh):
                    first_row = top * sh + a * dh
                    for b in range(kw):
                        grad_channels[
                            :,
                            first_row : first_row + (n - 1) * sh + 1 : sh,
                            b * dw : b * dw + (cols - 1) * sw + 1 : sw,
                        ] += spread[:, a, b]
            grad_weight[kernel_rows] = total if divisor is None else total / divisor
        # Padding cells copied from the input (reflect, ...) hand their share back.
        grad_x = self.pad2d_backward(grad_padded, pads, mode, x.shape) if any(pads) else grad_padded
        return grad_x, grad_weight.reshape(weight.shape), grad_bias

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
        output: np.ndarray | None = None,
    ) -> np.ndarray:
        full, taps = pool_frame(x.shape, size, stride, padding, dilation, ceil_mode)
        padded = framed(x, padding, full, -np.inf)
        # Which tap wins each window: taps in row-major order, and only a strictly
        # greater value takes over, so a tie keeps the first maximum (PyTorch's rule).
        # A window wholly in the padding has a padding winner: its gradient leaves with
        # the frame.
        spans = [(k - 1) * d + 1 for k, d in zip(size, dilation, strict=True)]
        apart = all(s >= span for s, span in zip(stride, spans, strict=True))
        # The windows tile the frame: every cell is one tap of one window (a dilated
        # window skips the cells between its taps: those need their zeros).
        tiled = all(
            s == span and extent == (n - 1) * s + span and (d == 1 or k == 1)
            for s, span, extent, n, k, d in zip(
                stride, spans, full, grad.shape[1:], size, dilation, strict=True
            )
        )
        grad_frame = max_pool_gradient(padded, grad, taps, stride[0], apart, tiled, output)
        return unframed(grad_frame, padding, x.shape)

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
        _, height, width = input_shape
        (kh, kw), (sh, sw), (ph, pw) = size, stride, padding
        full, taps = pool_frame(input_shape, size, stride, padding, (1, 1), ceil_mode)
        rows_count = window_counts(height, grad.shape[1], kh, sh, ph, count_include_pad)
        cols_count = window_counts(width, grad.shape[2], kw, sw, pw, count_include_pad)
        # Each cell of a window counted 1/count in its mean.
        share = grad / np.multiply.outer(rows_count, cols_count).astype(grad.dtype)
        grad_frame = np.zeros((input_shape[0], *full), dtype=grad.dtype)
        for tap in taps:
            grad_frame[tap] += share
        return unframed(grad_frame, padding, input_shape)

    def activation_backward(
        self, name: str, x: np.ndarray, grad: np.ndarray, params: Mapping[str, float | str]
    ) -> np.ndarray:
        if name == "relu":  # the seed's: relu'(x) = 1 where x > 0, else 0 (relu'(0) = 0)
            return relu_gradient(x, grad)
        return GRADIENT[name](x, grad, params)
