"""The arithmetic of one cell for each op, as the loop backend does it.

Each function recomputes a cell from the stage's input and records the steps
as text and small grids; xopipe.explain puts the head and the verdict around
them. Padding and activations go through the backend registry (numpy for
padding, the loop backend's own scalar functions for activations).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from xopipe.backends import Backend, get_backend
from xopipe.explain import CellRef, Explanation, Grid
from xopipe.explain.text import formula_of, show, show_grid, span_text
from xopipe.geometry import effective_size
from xopipe.ops.activation import ActivationParams
from xopipe.ops.conv import ConvParams, groups_for
from xopipe.ops.pad import PadParams
from xopipe.ops.pool import PoolParams, fill_for


def _numpy() -> Backend:
    return get_backend("numpy")


def _scalar_activation(p: ActivationParams, value: float) -> float:
    """The loop backend's activation on one number, exactly as it computes a cell."""
    cell = np.array([[[value]]], dtype=np.float64)
    return float(get_backend("loop").activation(p.name, cell, p.params)[0, 0, 0])


def _blank(cell: CellRef, dtype: np.dtype) -> Explanation:
    zero = dtype.type(0)
    return Explanation(cell, "", "", (), zero, zero, [])


def _conv(cell: CellRef, p: ConvParams, x: np.ndarray, dtype: np.dtype) -> Explanation:
    count, group_channels, kh, kw = p.weight.shape
    k, i, j = cell.channel, cell.row, cell.col
    groups = groups_for(p, x.shape[0])
    first = (k // (count // groups)) * group_channels
    channels = x[first : first + group_channels]
    left, right, top_pad, bottom_pad = p.pads
    mode = "constant" if p.padding_mode == "zeros" else p.padding_mode
    padded = _numpy().pad2d(channels, p.pads, mode, 0.0) if any(p.pads) else channels
    (sh, sw), (dh, dw) = p.stride, p.dilation
    top, left_edge = i * sh, j * sw
    span_h, span_w = effective_size(kh, dh), effective_size(kw, dw)
    # As the loop backend: window * kernel, summed, / divisor, + bias.
    window = padded[:, top : top + span_h : dh, left_edge : left_edge + span_w : dw]
    products = window * p.weight[k]
    total = np.sum(products)
    divided = total / p.divisor if p.divisor is not None else total
    value = dtype.type(divided + p.bias[k])

    rows = [top - top_pad + a * dh for a in range(kh)]
    cols = [left_edge - left + b * dw for b in range(kw)]
    outside = np.logical_or.outer(
        [not 0 <= r < x.shape[1] for r in rows], [not 0 <= c < x.shape[2] for c in cols]
    )
    result = _blank(cell, dtype)
    result.value, result.rows, result.cols, result.source_channel = value, rows, cols, first
    result.context, result.context_origin = np.array(padded[0]), (-top_pad, -left)
    result.formula = (
        "cell = Σ(window × kernel)"
        + (f" / {p.divisor:g}" if p.divisor is not None else "")
        + f" + bias {show(p.bias[k])}"
    )
    name = p.names[k] if k < len(p.names) else f"kernel {k}"
    steps = result.steps
    where = f"rows {span_text(rows[0], kh, dh)}, cols {span_text(cols[0], kw, dw)}"
    steps.append(
        f"  the window: {where} of {'channels' if group_channels > 1 else 'channel'} "
        f"{span_text(first, group_channels, 1)} (stride {list(p.stride)}, "
        f"dilation {list(p.dilation)})"
    )
    if outside.any():
        steps.append(
            f"  {int(outside.sum())} of its {outside.size} cells lie in the padding "
            f"({p.padding_mode}), shown as the values the conv used"
        )
    for c in range(group_channels):
        label = f"channel {first + c}"
        steps += [f"  input window, {label}:", show_grid(window[c])]
        steps += [f"  {name}, weights for {label}:", show_grid(p.weight[k, c])]
        steps += [f"  window × kernel, element by element ({label}):", show_grid(products[c])]
        result.grids += [
            Grid("window", label, np.array(window[c]), outside),
            Grid("kernel", name, np.array(p.weight[k, c]), np.zeros_like(outside)),
            Grid("products", label, np.array(products[c]), outside),
        ]
    steps.append(f"  sum of the {products.size} products = {show(total)}")
    if p.divisor is not None:
        steps.append(
            f"  / {p.divisor:g} (normalize=mean: {group_channels} channel(s) × {kh} × {kw} "
            f"weights) = {show(divided)}"
        )
    steps.append(f"  + bias {show(p.bias[k])} = {show(value)}")
    return result


def _pool(cell: CellRef, p: PoolParams, x: np.ndarray, dtype: np.dtype) -> Explanation:
    c, i, j = cell.channel, cell.row, cell.col
    fill = fill_for(p, x.shape[1], x.shape[2])
    fill_left, _, fill_top, _ = fill
    plane = x[c : c + 1]
    filled = _numpy().pad2d(plane, fill, "constant", 0.0)[0] if any(fill) else plane[0]
    height, width = filled.shape
    (kh, kw), (sh, sw), (ph, pw) = p.size, p.stride, p.padding
    dh, dw = p.dilation if p.kind == "max" else (1, 1)
    top, left = i * sh - ph, j * sw - pw
    rows = [top + a * dh for a in range(kh)]
    cols = [left + b * dw for b in range(kw)]
    inside = np.logical_and.outer([0 <= r < height for r in rows], [0 <= q < width for q in cols])
    pad_value = -math.inf if p.kind == "max" else 0.0
    values = np.full((kh, kw), pad_value, dtype=dtype)
    for a, r in enumerate(rows):
        for b, q in enumerate(cols):
            if inside[a, b]:
                values[a, b] = filled[r, q]
    # Cells outside the map as the stage received it: zero fill or torch's padding.
    source_rows = [r - fill_top for r in rows]
    source_cols = [q - fill_left for q in cols]
    outside = np.logical_or.outer(
        [not 0 <= r < x.shape[1] for r in source_rows],
        [not 0 <= q < x.shape[2] for q in source_cols],
    )
    result = _blank(cell, dtype)
    result.rows, result.cols, result.source_channel = source_rows, source_cols, c
    context = np.full((height + 2 * ph, width + 2 * pw), pad_value, dtype=dtype)
    context[ph : ph + height, pw : pw + width] = filled
    result.context, result.context_origin = context, (-fill_top - ph, -fill_left - pw)
    result.formula = f"cell = {p.kind} of the window's values" + (
        " (padding: -inf, never the max)" if p.padding != (0, 0) and p.kind == "max" else ""
    )
    steps = result.steps
    if any(fill):
        steps.append(
            f"  zeros added to {cell.stage}'s input first (pool.pad): left {fill[0]}, right "
            f"{fill[1]}, top {fill[2]}, bottom {fill[3]} -> {height}×{width}"
        )
    steps.append(
        f"  the {kh}×{kw} window: rows {span_text(source_rows[0], kh, dh)}, cols "
        f"{span_text(source_cols[0], kw, dw)} of channel {c} (stride {list(p.stride)})"
    )
    if p.padding != (0, 0):
        steps.append(
            f"  pool.padding {list(p.padding)}: cells beyond the map count as "
            + ("-inf (they never win)" if p.kind == "max" else "0")
        )
    if outside.any():
        steps.append(
            f"  {int(outside.sum())} of its {outside.size} cells lie outside {cell.stage}'s "
            "input (added zeros or padding)"
        )
    steps += ["  the window's values:", show_grid(values)]
    result.grids.append(Grid("window", f"channel {c}", values, outside))
    if p.kind == "max":
        # As the loop backend: the cells inside the map, in row order, their max.
        cells = [filled[r, q] for r in rows for q in cols if 0 <= r < height and 0 <= q < width]
        best = max(cells, default=-math.inf)
        result.value = dtype.type(best)
        steps.append(f"  max of the {len(cells)} values = {show(result.value)}")
        return result
    bottom, right = min(top + kh, height + ph), min(left + kw, width + pw)
    r0, r1, q0, q1 = max(top, 0), min(bottom, height), max(left, 0), min(right, width)
    # As the loop backend: padding counts in the mean only with count_include_pad.
    count = (bottom - top) * (right - left) if p.count_include_pad else (r1 - r0) * (q1 - q0)
    total = np.sum(filled[r0:r1, q0:q1])
    result.value = dtype.type(total / count)
    steps.append(f"  sum of the values = {show(total)}")
    why = "" if count == (r1 - r0) * (q1 - q0) else " (padding counted: count_include_pad)"
    steps.append(f"  / {count} cells{why} = {show(result.value)}")
    return result


def _activation(cell: CellRef, p: ActivationParams, x: np.ndarray, dtype: np.dtype) -> Explanation:
    value_in = x[cell.channel, cell.row, cell.col]
    result = _blank(cell, dtype)
    result.value = dtype.type(_scalar_activation(p, float(value_in)))
    result.rows, result.cols, result.source_channel = [cell.row], [cell.col], cell.channel
    result.context = x[cell.channel]
    result.formula = f"{p.name}(x) = {formula_of(p.name, p.params)}"
    result.steps += [
        f"  x = the same cell of the input = {show(value_in)}",
        f"  {p.name}(x) = {formula_of(p.name, p.params)} = {show(result.value)}",
    ]
    no_padding = np.zeros((1, 1), dtype=bool)
    result.grids += [
        Grid("value in", "x", np.array([[value_in]]), no_padding),
        Grid("value out", p.name, np.array([[result.value]]), no_padding),
    ]
    return result


def _pad(cell: CellRef, p: PadParams, x: np.ndarray, dtype: np.dtype) -> Explanation:
    _, height, width = x.shape
    # Pad a map of cell numbers the same way: each output cell shows which cell it copies.
    numbers = np.arange(height * width, dtype=np.float64).reshape(1, height, width)
    mapped = _numpy().pad2d(numbers, p.pads, p.mode, -1.0)[0, cell.row, cell.col]
    result = _blank(cell, dtype)
    left, _, top, _ = p.pads
    result.rows, result.cols = [cell.row - top], [cell.col - left]
    result.source_channel = cell.channel
    result.context = x[cell.channel]
    result.formula = f"pad ({p.mode})"
    if mapped < 0:
        result.value = dtype.type(p.value)
        result.steps.append(f"  this cell is padding: the fill value = {show(result.value)}")
    else:
        r, q = divmod(int(mapped), width)
        result.value = x[cell.channel, r, q]
        copied = "the same cell" if (r, q) == (result.rows[0], result.cols[0]) else "a copy"
        result.steps.append(
            f"  {copied} of input [{cell.channel}, {r}, {q}] ({p.mode}) = {show(result.value)}"
        )
    return result


EXPLAINERS: dict[str, Callable[[CellRef, Any, np.ndarray, np.dtype], Explanation]] = {
    "conv": _conv,
    "pool": _pool,
    "activation": _activation,
    "pad": _pad,
}
