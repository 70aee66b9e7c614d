"""pad: a stage of its own, in nn.ZeroPad2d / F.pad order [left, right, top, bottom]."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from xopipe.backends.base import Backend, BackendArray
from xopipe.config.schema import PadConfig
from xopipe.config.vocabulary import PAD_MODES
from xopipe.errors import UserError, invalid
from xopipe.geometry import Pads, as_pads, source_index
from xopipe.ops.explanation import CellRef, Explanation, blank, cell_value
from xopipe.ops.op import Op, Shape, StageConfig, WeightGradients
from xopipe.ops.routes import Route, padded_positions
from xopipe.ops.text import number_text, show
from xopipe.ops.words import pads_text


@dataclass(frozen=True)
class PadParams:
    keyof: Callable[[str], str]
    pads: Pads
    value: float
    mode: str


def check_mode_fits(key: str, mode: str, pads: Pads, height: int, width: int) -> None:
    """PyTorch's limits: reflect pads less than the input, circular wraps at most once."""
    left, right, top, bottom = pads
    if mode == "reflect" and (max(top, bottom) >= height or max(left, right) >= width):
        raise UserError(
            f"{key} must be smaller than the input ({height}x{width}) with mode reflect, "
            f"got [left, right, top, bottom] = {list(pads)}"
        )
    if mode == "circular" and (max(top, bottom) > height or max(left, right) > width):
        raise UserError(
            f"{key} must be at most the input size ({height}x{width}) with mode circular, "
            f"got [left, right, top, bottom] = {list(pads)}"
        )


def prepare(stage: StageConfig) -> PadParams:
    node: PadConfig = stage.node
    keyof = stage.keyof
    mode = node.mode
    if mode not in PAD_MODES:
        raise invalid(keyof("mode"), mode, "one of " + ", ".join(PAD_MODES))
    value = float(node.value)
    if not np.isfinite(value):
        raise invalid(keyof("value"), value, "a finite number")
    return PadParams(keyof, as_pads(keyof("pads"), node.pads), value, mode)


def output_shape(shape: Shape, p: PadParams) -> Shape:
    channels, height, width = shape
    check_mode_fits(p.keyof("pads"), p.mode, p.pads, height, width)
    left, right, top, bottom = p.pads
    return channels, height + top + bottom, width + left + right


def forward(backend: Backend, x: BackendArray, p: PadParams) -> BackendArray:
    return backend.pad2d(x, p.pads, p.mode, p.value)


def backward(
    backend: Backend, x: BackendArray, y: BackendArray, grad_y: BackendArray, p: PadParams
) -> tuple[BackendArray, WeightGradients | None]:
    """Each cell's gradient goes back to the cell it copies; the constant fill's nowhere."""
    return backend.pad2d_backward(grad_y, p.pads, p.mode, tuple(x.shape)), None


def routes(cell: CellRef, p: PadParams, x: np.ndarray, out: Shape, dtype: np.dtype) -> list[Route]:
    """The output cells that copy input cell `cell`: one, or more at an edge that
    reflect, replicate or circular padding repeats."""
    left, right, top, bottom = p.pads
    rows = padded_positions(cell.row, x.shape[1], top, bottom, p.mode)
    cols = padded_positions(cell.col, x.shape[2], left, right, p.mode)
    one = dtype.type(1)
    return [
        Route(
            (cell.channel, r, q),
            one,
            "a copy of it: 1"
            if (r - top, q - left) == (cell.row, cell.col)
            else f"a {p.mode} copy of it: 1",
        )
        for r in rows
        for q in cols
    ]


def explain(cell: CellRef, p: PadParams, x: np.ndarray, dtype: np.dtype) -> Explanation:
    _, height, width = x.shape
    left, _, top, _ = p.pads
    # Which cell this one copies, by F.pad's rule (geometry.source_index); None: the fill.
    r = source_index(cell.row - top, height, p.mode)
    q = source_index(cell.col - left, width, p.mode)
    result = blank(cell, dtype)
    result.rows, result.cols = [cell.row - top], [cell.col - left]
    result.source_channel = cell.channel
    result.context = x[cell.channel]
    result.formula = f"pad ({p.mode})"
    if r is None or q is None:
        result.value = dtype.type(p.value)
        result.steps.append(f"  this cell is padding: the fill value = {show(result.value)}")
    else:
        result.value = cell_value(x[cell.channel, r, q])
        copied = "the same cell" if (r, q) == (result.rows[0], result.cols[0]) else "a copy"
        result.steps.append(
            f"  {copied} of input [{cell.channel}, {r}, {q}] ({p.mode}) = {show(result.value)}"
        )
    return result


def describe(p: PadParams, input_shape: Shape, w: Mapping[str, str]) -> str:
    value = w["pad_value"].format(value=number_text(p.value)) if p.mode == "constant" else ""
    return w["pad"].format(pads=pads_text(p.pads, w), mode=p.mode, value=value)


WORDS = {
    "en": {
        "title": "padded map",
        "pad": "pad {pads} ({mode}{value})",
        "pad_value": " with {value}",
    },
    "zh": {
        "title": "填充后的特征图",
        "pad": "填充 {pads}（{mode}{value}）",
        "pad_value": "，填充值 {value}",
    },
}

OP = Op(
    name="pad",
    schema=PadConfig,
    prepare=prepare,
    output_shape=output_shape,
    forward=forward,
    explain=explain,
    describe=describe,
    words=WORDS,
    backward=backward,
    routes=routes,
)
