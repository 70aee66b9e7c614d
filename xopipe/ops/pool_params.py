"""pool's parameters: its node checked, and the zero fill and output shape for an input.

Two paddings, because the seed and PyTorch disagree:
- `pad` fills zeros before pooling (the seed pads 7x7 to 8x8 with zeros);
  `auto` adds just enough on the right and bottom for the windows to tile.
- `padding` is torch's implicit padding on every side: -inf for max (it
  never wins), and for avg it counts in the mean only with count_include_pad.
On an all-negative edge window the two give different maxima.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xopipe.config.schema import PoolConfig
from xopipe.config.vocabulary import POOL_KINDS
from xopipe.errors import UserError, invalid
from xopipe.geometry import Pads, Pair, as_pads, as_pair, auto_pool_fill, effective_size, pool_out
from xopipe.ops.op import Shape, StageConfig


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
