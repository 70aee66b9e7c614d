"""pool's routes: the windows that hold one input cell, and whether it wins each (max).

Max: the first maximum of a window in row order wins (a tie keeps the
earlier cell, as PyTorch's CPU pooling) and takes the window's whole
gradient; a zero of pool.pad's fill can win, and then no input cell gets
that window's gradient. Avg: every cell of a window gets 1/count of it.
"""

from __future__ import annotations

import math

import numpy as np

from xopipe.ops.explanation import CellRef
from xopipe.ops.pool_params import PoolParams, fill_for
from xopipe.ops.routes import Route, windows_at
from xopipe.ops.text import show

Shape = tuple[int, int, int]


def routes(cell: CellRef, p: PoolParams, x: np.ndarray, out: Shape, dtype: np.dtype) -> list[Route]:
    c, i, j = cell.channel, cell.row, cell.col
    fill = fill_for(p, x.shape[1], x.shape[2])
    left, right, top, bottom = fill
    filled = np.zeros((x.shape[1] + top + bottom, x.shape[2] + left + right), dtype=x.dtype)
    filled[top : top + x.shape[1], left : left + x.shape[2]] = x[c]
    (kh, kw), (sh, sw), (ph, pw) = p.size, p.stride, p.padding
    dh, dw = p.dilation if p.kind == "max" else (1, 1)
    found = []
    for r, _ in windows_at(i + top + ph, kh, sh, dh, out[1]):
        for q, _ in windows_at(j + left + pw, kw, sw, dw, out[2]):
            window = _window(filled, r * sh - ph, q * sw - pw, kh, kw, dh, dw)
            if p.kind == "max":
                here = (i + top, j + left)
                found.append(_max_route(c, r, q, window, here, fill, x.shape[1:], dtype))
            else:
                count = _avg_count(p, filled.shape, r * sh - ph, q * sw - pw)
                local = dtype.type(1.0 / count)
                found.append(Route((c, r, q), local, f"the mean of {count} cells: 1/{count}"))
    return found


def _window(
    filled: np.ndarray, top: int, left: int, kh: int, kw: int, dh: int, dw: int
) -> list[tuple[int, int, float]]:
    """The window's cells inside the filled map, in row order: (row, col, value)."""
    height, width = filled.shape
    return [
        (r, q, filled[r, q])
        for r in range(top, top + kh * dh, dh)
        for q in range(left, left + kw * dw, dw)
        if 0 <= r < height and 0 <= q < width
    ]


def _max_route(
    c: int,
    r: int,
    q: int,
    window: list[tuple[int, int, float]],
    here: tuple[int, int],
    fill: tuple[int, int, int, int],
    size: tuple[int, int],
    dtype: np.dtype,
) -> Route:
    """d out / d the cell: 1 if it wins the window, else 0, and which cell won instead."""
    winner, best = None, -math.inf
    for row, col, value in window:  # as the loop backend: the first strictly greater wins
        if winner is None or value > best:
            winner, best = (row, col), value
    value_here = next(value for row, col, value in window if (row, col) == here)
    ties = sum(1 for _, _, value in window if value == best)
    if winner == here:
        tie = f" (the first of {ties} equal cells in row order)" if ties > 1 else ""
        return Route((c, r, q), dtype.type(1), f"it wins with {show(best)}{tie}: 1")
    left, _, top, _ = fill
    height, width = size
    row, col = winner  # type: ignore[misc]
    inside = top <= row < top + height and left <= col < left + width
    who = f"[{row - top}, {col - left}]" if inside else "a zero of pool.pad's fill"
    why = " (a tie: it comes first in row order)" if value_here == best else ""
    return Route((c, r, q), dtype.type(0), f"{who} wins with {show(best)}{why}: 0")


def _avg_count(p: PoolParams, shape: tuple[int, int], top: int, left: int) -> int:
    """The divisor of this window's mean, as the forward pass counts it."""
    (kh, kw), (ph, pw) = p.size, p.padding
    height, width = shape
    bottom, right = min(top + kh, height + ph), min(left + kw, width + pw)
    if p.count_include_pad:
        return (bottom - top) * (right - left)
    return (min(bottom, height) - max(top, 0)) * (min(right, width) - max(left, 0))
