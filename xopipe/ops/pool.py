"""pool: max or average pooling, with the seed's zero fill and torch's own padding.

Two paddings, because the seed and PyTorch disagree:
- `pad` fills zeros before pooling (the seed pads 7x7 to 8x8 with zeros);
  `auto` adds just enough on the right and bottom for the windows to tile.
- `padding` is torch's implicit padding on every side: -inf for max (it
  never wins), and for avg it counts in the mean only with count_include_pad.
On an all-negative edge window the two give different maxima.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xopipe.backends import get_backend
from xopipe.backends.base import Backend, BackendArray
from xopipe.config.schema import PoolConfig
from xopipe.config.vocabulary import POOL_KINDS
from xopipe.errors import UserError, invalid
from xopipe.geometry import Pads, Pair, as_pads, as_pair, auto_pool_fill, effective_size, pool_out
from xopipe.ops.explanation import CellRef, Explanation, Grid, blank
from xopipe.ops.op import Control, Op, Shape, StageConfig
from xopipe.ops.text import show, show_grid, span_text
from xopipe.ops.words import pads_text, pair_text


@dataclass(frozen=True)
class PoolParams:
    keyof: Callable[[str], str]
    kind: str
    size: Pair
    stride: Pair
    fill: Pads | None  # zero fill before pooling; None = auto
    padding: Pair
    dilation: Pair
    ceil_mode: bool
    count_include_pad: bool


def prepare(stage: StageConfig) -> PoolParams:
    node: PoolConfig = stage.node
    keyof = stage.keyof
    kind = node.name
    if kind not in POOL_KINDS:
        raise invalid(keyof("name"), kind, "one of " + ", ".join(POOL_KINDS))
    size = as_pair(keyof("size"), node.size, minimum=1)
    stride_value = node.stride
    stride = size if stride_value is None else as_pair(keyof("stride"), stride_value, minimum=1)
    fill_value = node.pad
    fill = None if fill_value == "auto" else _fill(keyof("pad"), fill_value)
    padding = as_pair(keyof("padding"), node.padding, minimum=0)
    if padding[0] > size[0] // 2 or padding[1] > size[1] // 2:
        raise invalid(
            keyof("padding"), list(padding), f"at most half the window {list(size)} (as in PyTorch)"
        )
    # Only max pools dilate; only avg pools choose whether padding counts.
    dilation = as_pair(keyof("dilation"), getattr(node, "dilation", 1), minimum=1)
    return PoolParams(
        keyof=keyof,
        kind=kind,
        size=size,
        stride=stride,
        fill=fill,
        padding=padding,
        dilation=dilation,
        ceil_mode=bool(node.ceil_mode),
        count_include_pad=bool(getattr(node, "count_include_pad", True)),
    )


def _fill(key: str, value: Any) -> Pads:
    if isinstance(value, str):
        raise invalid(key, value, "auto, an integer >= 0 or [left, right, top, bottom]")
    return as_pads(key, value)


def fill_for(p: PoolParams, height: int, width: int) -> Pads:
    """The zero fill for a map of this size: explicit, or the seed's auto rule.

    auto fills only when torch's own padding and ceil_mode are off: with
    those, PyTorch's rules decide the edges and a fill would break parity.
    """
    if p.fill is not None:
        return p.fill
    if p.padding != (0, 0) or p.ceil_mode:
        return 0, 0, 0, 0
    span_h = effective_size(p.size[0], p.dilation[0])
    span_w = effective_size(p.size[1], p.dilation[1])
    return (
        0,
        auto_pool_fill(width, span_w, p.stride[1]),
        0,
        auto_pool_fill(height, span_h, p.stride[0]),
    )


def output_shape(shape: Shape, p: PoolParams) -> Shape:
    channels, height, width = shape
    left, right, top, bottom = fill_for(p, height, width)
    filled_h, filled_w = height + top + bottom, width + left + right
    rows = pool_out(filled_h, p.size[0], p.stride[0], p.padding[0], p.dilation[0], p.ceil_mode)
    cols = pool_out(filled_w, p.size[1], p.stride[1], p.padding[1], p.dilation[1], p.ceil_mode)
    if rows < 1 or cols < 1:
        span = (
            f"{effective_size(p.size[0], p.dilation[0])}x{effective_size(p.size[1], p.dilation[1])}"
        )
        raise UserError(
            f"{p.keyof('size')}: the {span} pooling window does not fit the "
            f"{filled_h}x{filled_w} map it reads (after pad and padding); use a smaller "
            f"window or more {p.keyof('pad')}"
        )
    return channels, rows, cols


def warnings(shape: Shape, p: PoolParams) -> list[str]:
    """auto's fill is the documented rule, but more zeros than map is rarely what was meant."""
    if p.fill is not None:  # an explicit pad (0 included) is what the user asked for
        return []
    _, height, width = shape
    left, right, top, bottom = fill_for(p, height, width)
    rows, cols = top + bottom, left + right
    if rows <= height and cols <= width:
        return []
    size = f"{effective_size(p.size[0], p.dilation[0])}x{effective_size(p.size[1], p.dilation[1])}"
    return [
        f"{p.keyof('pad')}=auto adds {_count(rows, 'row')} and {_count(cols, 'column')} "
        f"of zeros to the "
        f"{height}x{width} map, more than the map itself, so that the {size} window of "
        f"{p.keyof('size')} fits; {p.keyof('pad')}=0 refuses a window larger than the map"
    ]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


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
    result = blank(cell, dtype)
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
)
