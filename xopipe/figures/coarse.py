"""What the figures draw of a lazy run's large maps (backend=dask): block means made by dask.

maps.display_grid draws a map over DISPLAY_MAX a side as the means of
factor x factor blocks. For a lazy array those means are computed by dask
(dask.array.coarsen, the same blocks), with each channel's finite min and
max for the colour scale, all stages in one pass; no map is gathered whole.
A CoarseGrid stands for one channel: its shape is the map's own, and a crop
of it (an explain figure's neighbourhood) is computed from the lazy map.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xopipe.figures.maps import DISPLAY_MAX, CoarseGrid

Compute = Callable[..., tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class CoarseMap:
    """A lazy [C, H, W] array as figures see it: channel c is a CoarseGrid."""

    shape: tuple[int, int, int]
    grids: tuple[CoarseGrid, ...]

    def __getitem__(self, channel: int) -> CoarseGrid:
        return self.grids[channel]


def display_factor(rows: int, cols: int) -> int:
    """maps.display_grid's factor for a map of this size."""
    return max(1, math.ceil(max(rows, cols) / DISPLAY_MAX))


def coarse_maps(arrays: Mapping[str, Any], compute: Compute) -> dict[str, Any]:
    """Each lazy array as figures draw it: a CoarseMap when it is averaged down, else the
    array itself computed (a small map is drawn cell by cell, numbers and all)."""
    import dask.array as da

    work: list[Any] = []
    plan: list[tuple[str, int]] = []
    for name, array in arrays.items():
        _, rows, cols = array.shape
        factor = display_factor(rows, cols)
        plan.append((name, factor))
        if factor == 1:
            work.append(array)
            continue
        trimmed = array[:, : rows // factor * factor, : cols // factor * factor]
        side = max(factor, array.chunks[1][0] // factor * factor)
        blocks = trimmed.rechunk((-1, side, side))  # whole blocks in every chunk
        finite = da.where(da.isfinite(array), array, np.nan)
        work += [
            da.coarsen(np.mean, blocks, {1: factor, 2: factor}),
            da.nanmin(finite, axis=(1, 2)),
            da.nanmax(finite, axis=(1, 2)),
        ]
    with np.errstate(invalid="ignore"):  # a channel without a finite cell: NaN, no range
        done = list(compute(*work))
    shown: dict[str, Any] = {}
    for name, factor in plan:
        array = arrays[name]
        if factor == 1:
            shown[name] = done.pop(0)
            continue
        means, low, high = done.pop(0), done.pop(0), done.pop(0)
        grids = tuple(
            CoarseGrid(
                (array.shape[1], array.shape[2]),
                means[c],
                factor,
                None if np.isnan(low[c]) else (float(low[c]), float(high[c])),
                array[c],
                compute,
            )
            for c in range(array.shape[0])
        )
        shown[name] = CoarseMap(tuple(array.shape), grids)
    return shown
