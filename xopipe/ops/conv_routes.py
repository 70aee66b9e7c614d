"""conv's routes: the output cells whose window holds one input cell, and through which weight."""

from __future__ import annotations

import numpy as np

from xopipe.ops.conv_params import ConvParams, groups_for
from xopipe.ops.explanation import CellRef
from xopipe.ops.routes import Route, padded_positions, windows_at
from xopipe.ops.text import show

Shape = tuple[int, int, int]


def routes(cell: CellRef, p: ConvParams, x: np.ndarray, out: Shape, dtype: np.dtype) -> list[Route]:
    """Every (kernel, row, col) whose window reads input cell `cell`, once per weight that
    meets it: d out / d cell = that weight (/ the divisor with normalize=mean). With
    reflect, replicate or circular padding an edge cell may meet one window twice."""
    c, i, j = cell.channel, cell.row, cell.col
    count, group_channels, kh, kw = p.weight.shape
    group = c // group_channels
    per_group = count // groups_for(p, x.shape[0])
    left, right, top, bottom = p.pads
    mode = "constant" if p.padding_mode == "zeros" else p.padding_mode
    (sh, sw), (dh, dw) = p.stride, p.dilation
    found = []
    for row_at in padded_positions(i, x.shape[1], top, bottom, mode):
        for r, a in windows_at(row_at, kh, sh, dh, out[1]):
            for col_at in padded_positions(j, x.shape[2], left, right, mode):
                for q, b in windows_at(col_at, kw, sw, dw, out[2]):
                    for k in range(group * per_group, (group + 1) * per_group):
                        found.append(_route(p, k, c - group * group_channels, a, b, r, q, dtype))
    return sorted(found, key=lambda route: route.out)


def _route(
    p: ConvParams, k: int, channel: int, a: int, b: int, r: int, q: int, dtype: np.dtype
) -> Route:
    weight = dtype.type(p.weight[k, channel, a, b])
    why = f"weight[{k}, {channel}, {a}, {b}] = {show(weight)}"
    if p.divisor is None:
        return Route((k, r, q), weight, why)
    return Route((k, r, q), weight, f"{why} (conv divides its sum by {p.divisor:g})", p.divisor)
