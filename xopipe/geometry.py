"""Shape arithmetic shared by every backend and by the up-front shape check.

Backends receive explicit numbers from here (paddings per side, output sizes),
so the rules of `same`, `pool.pad=auto` or `ceil_mode` are written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xopipe.errors import invalid

Pair = tuple[int, int]
# Per-side padding in nn.ZeroPad2d / F.pad order: left, right, top, bottom.
Pads = tuple[int, int, int, int]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def as_pair(key: str, value: Any, *, minimum: int) -> Pair:
    """An int or an [h, w] pair, each at least `minimum`, as a (h, w) tuple."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    allowed = f"{what} or a pair [h, w] of them"
    if _is_int(value):
        items: Sequence[Any] = (value, value)
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        items = value
    else:
        raise invalid(key, value, allowed)
    if not all(_is_int(v) and v >= minimum for v in items):
        raise invalid(key, value, allowed)
    return int(items[0]), int(items[1])


def as_pads(key: str, value: Any) -> Pads:
    """An int (all four sides) or [left, right, top, bottom], each >= 0."""
    allowed = "an integer >= 0 or a list [left, right, top, bottom] of them"
    if _is_int(value):
        items: Sequence[Any] = (value,) * 4
    elif isinstance(value, (list, tuple)) and len(value) == 4:
        items = value
    else:
        raise invalid(key, value, allowed)
    if not all(_is_int(v) and v >= 0 for v in items):
        raise invalid(key, value, allowed)
    left, right, top, bottom = (int(v) for v in items)
    return left, right, top, bottom


def effective_size(size: int, dilation: int) -> int:
    """How many input cells a dilated window spans."""
    return dilation * (size - 1) + 1


def conv_out(n: int, size: int, stride: int, dilation: int, pad_before: int, pad_after: int) -> int:
    """floor((n + pads - d(k-1) - 1) / s) + 1; <= 0 when the window does not fit."""
    return (n + pad_before + pad_after - effective_size(size, dilation)) // stride + 1


def same_pads(size: int, dilation: int) -> Pair:
    """PyTorch's `padding='same'`: the odd cell of the total goes after (right/bottom)."""
    total = dilation * (size - 1)
    return total // 2, total - total // 2


def pool_out(n: int, size: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """Output length of torch's max/avg pooling (its pooling_output_shape), ceil_mode included.

    <= 0 when no window fits. With ceil_mode a window may hang over the end,
    even one larger than the input, as long as it starts inside it.
    """
    span = n + 2 * padding - effective_size(size, dilation) + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1  # floor division, as PyTorch's div_rtn
    # PyTorch drops a last window that would start in the right-hand padding.
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    return out


def auto_pool_fill(n: int, size: int, stride: int) -> int:
    """The seed's rule: fewest zero cells p >= 0 so that windows tile n + p exactly."""
    if n <= size:
        return size - n
    return (-(n - size)) % stride


def pool_reach(n: int, size: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """How many cells, padding included, a pool's windows read along one axis.

    n + 2 * padding, or more where ceil_mode's last window hangs over the end.
    """
    outputs = pool_out(n, size, stride, padding, dilation, ceil_mode)
    return max((outputs - 1) * stride + effective_size(size, dilation), n + 2 * padding)


def source_index(i: int, n: int, mode: str) -> int | None:
    """Which input cell a padded position i (may be < 0 or >= n) copies; None = constant.

    Modes as F.pad's: reflect mirrors without repeating the edge (pad < n),
    replicate repeats the edge, circular wraps around (pad <= n).
    """
    if 0 <= i < n:
        return i
    if mode == "constant":
        return None
    if mode == "replicate":
        return min(max(i, 0), n - 1)
    if mode == "circular":
        return i % n
    if mode == "reflect":
        return -i if i < 0 else 2 * (n - 1) - i
    raise ValueError(f"unknown padding mode {mode!r}")
