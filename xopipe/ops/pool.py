"""pool: max or average pooling, with the seed's zero fill and torch's own padding.

Its parameters, the fill and the output shape are in pool_params.py (its
docstring tells the two paddings apart); the backward pass goes back through
the pool and then the fill.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from xopipe.backends import get_backend
from xopipe.backends.base import Backend, BackendArray
from xopipe.config.schema import PoolConfig
from xopipe.config.vocabulary import POOL_KINDS
from xopipe.ops.explanation import CellRef, Explanation, Grid, blank
from xopipe.ops.op import Control, Op, Shape, WeightGradients
from xopipe.ops.pool_params import PoolParams, fill_for, output_shape, prepare, warnings
from xopipe.ops.pool_routes import routes
from xopipe.ops.text import show, show_grid, span_text
from xopipe.ops.words import pads_text, pair_text


def forward(backend: Backend, x: BackendArray, p: PoolParams) -> BackendArray:
    fill = fill_for(p, x.shape[1], x.shape[2])
    if any(fill):
        x = backend.pad2d(x, fill, "constant", 0.0)
    if p.kind == "max":
        return backend.max_pool2d(
            x,
            size=p.size,
            stride=p.stride,
            padding=p.padding,
            dilation=p.dilation,
            ceil_mode=p.ceil_mode,
        )
    return backend.avg_pool2d(
        x,
        size=p.size,
        stride=p.stride,
        padding=p.padding,
        ceil_mode=p.ceil_mode,
        count_include_pad=p.count_include_pad,
    )


def backward(
    backend: Backend, x: BackendArray, y: BackendArray, grad_y: BackendArray, p: PoolParams
) -> tuple[BackendArray, WeightGradients | None]:
    """Back through the pool, then through its zero fill.

    The pool's gradient is taken on the filled map, so a fill cell that wins
    a window (the max of an all-negative edge window is a zero) takes that
    window's gradient and the cell it shadows gets none; the fill's own
    gradient is then dropped, as pad's backward drops a constant fill's.
    """
    channels, height, width = x.shape
    fill = fill_for(p, height, width)
    filled = backend.pad2d(x, fill, "constant", 0.0) if any(fill) else x
    if p.kind == "max":
        grad = backend.max_pool2d_backward(
            filled,
            grad_y,
            size=p.size,
            stride=p.stride,
            padding=p.padding,
            dilation=p.dilation,
            ceil_mode=p.ceil_mode,
            output=y,
        )
    else:
        grad = backend.avg_pool2d_backward(
            tuple(filled.shape),
            grad_y,
            size=p.size,
            stride=p.stride,
            padding=p.padding,
            ceil_mode=p.ceil_mode,
            count_include_pad=p.count_include_pad,
        )
    if any(fill):
        grad = backend.pad2d_backward(grad, fill, "constant", (channels, height, width))
    return grad, None


def explain(cell: CellRef, p: PoolParams, x: np.ndarray, dtype: np.dtype) -> Explanation:
    c, i, j = cell.channel, cell.row, cell.col
    fill = fill_for(p, x.shape[1], x.shape[2])
    fill_left, _, fill_top, _ = fill
    plane = x[c : c + 1]
    filled = get_backend("numpy").pad2d(plane, fill, "constant", 0.0)[0] if any(fill) else plane[0]
    height, width = filled.shape
    (kh, kw), (sh, sw), (ph, pw) = p.size, p.stride, p.padding
    dh, dw = p.dilation if p.kind == "max" else (1, 1)
    top, left = i * sh - ph, j * sw - pw
    rows = [top + a * dh for a in range(kh)]
    cols = [left + b * dw for b in range(kw)]
    inside = np.logical_and.outer([0 <= r < height for r in rows], [0 <= q < width for q in cols])
    # The window's cells inside the map, read once (a lazy run's: its chunks only).
    r_low, c_low = max(rows[0], 0), max(cols[0], 0)
    near = np.asarray(filled[r_low : max(rows[-1] + 1, r_low), c_low : max(cols[-1] + 1, c_low)])
    pad_value = -math.inf if p.kind == "max" else 0.0
    values = np.full((kh, kw), pad_value, dtype=dtype)
    for a, r in enumerate(rows):
        for b, q in enumerate(cols):
            if inside[a, b]:
                values[a, b] = near[r - r_low, q - c_low]
    # Cells outside the map as the stage received it: zero fill or torch's padding.
    source_rows = [r - fill_top for r in rows]
    source_cols = [q - fill_left for q in cols]
    outside = np.logical_or.outer(
        [not 0 <= r < x.shape[1] for r in source_rows],
        [not 0 <= q < x.shape[2] for q in source_cols],
    )
    result = blank(cell, dtype)
    result.rows, result.cols, result.source_channel = source_rows, source_cols, c
    context = np.pad(filled, ((ph, ph), (pw, pw)), constant_values=pad_value)
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
        cells = [
            near[r - r_low, q - c_low]
            for r in rows
            for q in cols
            if 0 <= r < height and 0 <= q < width
        ]
        best = max(cells, default=-math.inf)
        result.value = dtype.type(best)
        steps.append(f"  max of the {len(cells)} values = {show(result.value)}")
        return result
    bottom, right = min(top + kh, height + ph), min(left + kw, width + pw)
    r0, r1, q0, q1 = max(top, 0), min(bottom, height), max(left, 0), min(right, width)
    # As the loop backend: padding counts in the mean only with count_include_pad.
    count = (bottom - top) * (right - left) if p.count_include_pad else (r1 - r0) * (q1 - q0)
    total = np.sum(near[r0 - r_low : r1 - r_low, q0 - c_low : q1 - c_low])
    result.value = dtype.type(total / count)
    steps.append(f"  sum of the values = {show(total)}")
    why = "" if count == (r1 - r0) * (q1 - q0) else " (padding counted: count_include_pad)"
    steps.append(f"  / {count} cells{why} = {show(result.value)}")
    return result


def describe(p: PoolParams, input_shape: Shape, w: Mapping[str, str]) -> str:
    size = f"{p.size[0]}×{p.size[1]}"
    parts = [w["pool"].format(kind=w.get(p.kind, p.kind), size=size, stride=pair_text(p.stride))]
    fill = fill_for(p, input_shape[1], input_shape[2])
    if any(fill):
        parts.append(w["zeros"].format(pads=pads_text(fill, w)))
    if p.padding != (0, 0):
        parts.append(w["padding"].format(value=pair_text(p.padding)))
    if p.dilation != (1, 1) and p.kind == "max":
        parts.append(w["dilation"].format(value=pair_text(p.dilation)))
    if p.ceil_mode:
        parts.append("ceil_mode")
    return w["and"].join(parts)


WORDS = {
    "en": {
        "title": "pooled map",
        "pool": "{kind} of each {size} window, stride {stride}",
        "max": "max",
        "avg": "avg",
        "zeros": "zeros added: {pads}",
    },
    "zh": {
        "title": "池化后的特征图",
        "pool": "每个 {size} 窗口取{kind}，步长 {stride}",
        "max": "最大值",
        "avg": "平均值",
        "zeros": "补零：{pads}",
    },
}

OP = Op(
    name="pool",
    schema=PoolConfig,
    prepare=prepare,
    output_shape=output_shape,
    forward=forward,
    explain=explain,
    describe=describe,
    words=WORDS,
    controls=(Control("name", POOL_KINDS), Control("size"), Control("stride")),
    warnings=warnings,
    slides_window=True,
    backward=backward,
    routes=routes,
)
