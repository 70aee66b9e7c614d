"""`explain=stage:channel:row:col`: how one output cell was computed, step by step.

The value is computed again from the stage's real input array, in the run's
dtype, with the same operations in the same order as the loop backend
(the readable reference), so the printed arithmetic ends on the stored
value: bit for bit on `backend=loop`, to the last bit or so on numpy and
torch, which add the same products in another order. Nothing here imports
matplotlib; explain_figure.py draws what this computes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xopipe.backends.loop import SCALAR_ACTIVATION
from xopipe.backends.numpy import NumpyBackend
from xopipe.errors import UserError
from xopipe.experiment import Experiment
from xopipe.figures.labels import formula_of, shape_text
from xopipe.geometry import effective_size
from xopipe.ops.activation import ActivationParams
from xopipe.ops.conv import ConvParams, groups_for
from xopipe.ops.pad import PadParams
from xopipe.ops.pool import PoolParams, fill_for

EXPLAINED_OPS = ("conv", "pool", "activation", "pad")
FORMAT = "stage:channel:row:col, e.g. conv:0:1:2"


@dataclass(frozen=True)
class CellRef:
    stage: str
    channel: int
    row: int
    col: int

    def __str__(self) -> str:
        return f"{self.stage}[{self.channel}, {self.row}, {self.col}]"

    @property
    def slug(self) -> str:
        return f"{self.stage}_{self.channel}_{self.row}_{self.col}"


@dataclass
class Grid:
    """One small matrix of the explanation (a window, a kernel, the products)."""

    title: str  # a labels.WORDS key: window, kernel, products
    detail: str  # e.g. "channel 0"
    values: np.ndarray  # 2-D; padding cells hold what the op used there (0, -inf, ...)
    padding: np.ndarray  # bool, same shape: the cell lies outside the stage's input


@dataclass
class Explanation:
    cell: CellRef
    op: str
    source: str  # the stage (or `input`) this stage reads
    source_shape: tuple[int, ...]
    value: np.generic  # computed here, in the run's dtype
    stored: np.generic  # what the backend wrote
    steps: list[str]  # the arithmetic, one line each, as printed
    grids: list[Grid] = field(default_factory=list)
    # Where the window sits in the source's channel `source_channel`
    # (row and column indices; outside 0..n-1 means padding).
    source_channel: int = 0
    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    # That channel as the op saw it, padding included: context[0, 0] is at
    # (row, col) = context_origin of the source (negative with top/left padding).
    context: np.ndarray | None = None
    context_origin: tuple[int, int] = (0, 0)
    formula: str = ""  # what is done with the window, in one line

    @property
    def identical(self) -> bool:
        return bool(self.value == self.stored) or (
            bool(np.isnan(self.value)) and bool(np.isnan(self.stored))
        )

    def difference(self) -> float:
        return abs(float(self.value) - float(self.stored))


def parse_cell(text: str, experiment: Experiment) -> CellRef:
    """`stage:channel:row:col`, checked against the stage's output shape."""
    parts = str(text).rsplit(":", 3)
    if len(parts) != 4:
        raise UserError(f"explain must be {FORMAT}, got {text!r}")
    stage, *numbers = parts
    if stage not in experiment.stages:
        names = ", ".join(experiment.pipeline.order)
        raise UserError(f"explain: the stage must be one of {names}, got {stage!r} in {text!r}")
    op = experiment.stages[stage].spec.op
    if op not in EXPLAINED_OPS:
        raise UserError(
            f"explain: stage {stage!r} uses op {op!r}; explain knows {', '.join(EXPLAINED_OPS)}"
        )
    try:
        channel, row, col = (int(n) for n in numbers)
    except ValueError:
        raise UserError(f"explain must be {FORMAT} with whole numbers, got {text!r}") from None
    shape = experiment.stages[stage].shape
    if not all(0 <= n < size for n, size in zip((channel, row, col), shape, strict=True)):
        raise UserError(
            f"explain: {stage} is {shape_text(shape)}, so channel must be 0..{shape[0] - 1}, "
            f"row 0..{shape[1] - 1} and col 0..{shape[2] - 1}; got {text!r}"
        )
    return CellRef(stage, channel, row, col)


def explain(cell: CellRef, experiment: Experiment, arrays: dict[str, np.ndarray]) -> Explanation:
    """Compute `cell` again, step by step, from its stage's input in `arrays`."""
    stage = experiment.stages[cell.stage]
    source = stage.spec.input
    x = arrays[source]
    stored = arrays[cell.stage][cell.channel, cell.row, cell.col]
    params, dtype = stage.params, experiment.dtype
    if isinstance(params, ConvParams):
        result = _conv(cell, params, x, dtype)
    elif isinstance(params, PoolParams):
        result = _pool(cell, params, x, dtype)
    elif isinstance(params, ActivationParams):
        result = _activation(cell, params, x, dtype)
    else:
        assert isinstance(params, PadParams), stage.spec.op
        result = _pad(cell, params, x, dtype)
    result.op, result.source, result.source_shape = stage.spec.op, source, x.shape
    result.stored = stored
    head = (
        f"explain {cell}: channel {cell.channel}, row {cell.row}, col {cell.col} of "
        f"{cell.stage} [{shape_text(arrays[cell.stage].shape)}], which reads "
        f"{source} [{shape_text(x.shape)}]"
    )
    result.steps.insert(0, head)
    verdict = (
        "identical, bit for bit"
        if result.identical
        else f"differs by {result.difference():.3g}: this backend adds in another order"
    )
    result.steps.append(f"stored {cell} = {show(stored)}  ({verdict})")
    return result


def show(value: Any) -> str:
    """A number at full precision: the shortest text that reads back as the same value."""
    if isinstance(value, np.generic):
        return str(value)  # numpy's shortest round-trip text in the value's own dtype
    return repr(value)


def show_grid(grid: np.ndarray, indent: str = "    ") -> str:
    text = np.array2string(grid, floatmode="unique", max_line_width=200, threshold=400)
    return "\n".join(indent + line for line in text.splitlines())


def _span(first: int, count: int, step: int) -> str:
    last = first + (count - 1) * step
    every = f" every {step}" if step > 1 else ""
    return f"{first}..{last}{every}" if count > 1 else str(first)


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
    padded = NumpyBackend().pad2d(channels, p.pads, mode, 0.0) if any(p.pads) else channels
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
    where = f"rows {_span(rows[0], kh, dh)}, cols {_span(cols[0], kw, dw)}"
    steps.append(
        f"  the window: {where} of {'channels' if group_channels > 1 else 'channel'} "
        f"{_span(first, group_channels, 1)} (stride {list(p.stride)}, "
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
    filled = NumpyBackend().pad2d(plane, fill, "constant", 0.0)[0] if any(fill) else plane[0]
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
        f"  the {kh}×{kw} window: rows {_span(source_rows[0], kh, dh)}, cols "
        f"{_span(source_cols[0], kw, dw)} of channel {c} (stride {list(p.stride)})"
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
    function = SCALAR_ACTIVATION[p.name](p.params)
    result = _blank(cell, dtype)
    result.value = dtype.type(function(float(value_in)))
    result.rows, result.cols, result.source_channel = [cell.row], [cell.col], cell.channel
    result.context = x[cell.channel]
    result.formula = f"{p.name}(x) = {formula_of(p)}"
    result.steps += [
        f"  x = the same cell of the input = {show(value_in)}",
        f"  {p.name}(x) = {formula_of(p)} = {show(result.value)}",
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
    mapped = NumpyBackend().pad2d(numbers, p.pads, p.mode, -1.0)[0, cell.row, cell.col]
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
