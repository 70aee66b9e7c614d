"""One heatmap on an Axes, and figures laid out as blocks of them.

Figures are plain `matplotlib.figure.Figure` objects (no pyplot, so no GUI
backend and no global state): savefig renders them headless with Agg, SVG
or PDF. Small maps (up to ANNOTATE_MAX cells a side) carry each value with
2 decimals (numbers.py); larger ones are drawn as images, averaged down
when huge. Panels are placed at fixed sizes in inches (layout.py), which
keeps every figure's size predictable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from xopipe.figures.labels import cell_text
from xopipe.figures.layout import (
    ANNOTATE_MAX,
    MIN_ASPECT,
    Block,
    Panel,
    Placed,
    Style,
    place,
    text_inches,
)
from xopipe.figures.numbers import annotate, index_labels, text_width

DISPLAY_MAX = 512  # larger maps are averaged down to about this many pixels a side


PAD_COLOUR = "#d9d9d9"  # cells with no number (-inf padding)


@dataclass(frozen=True)
class CoarseGrid:
    """A large map of a lazy run, as drawn: its block means, made by dask (figures/coarse.py).

    Its shape is the map's own; its range, the whole map's finite min and max; a crop
    (grid[r0:r1, c0:c1]) is computed from the lazy map itself.
    """

    shape: tuple[int, int]
    means: np.ndarray  # what display_grid would draw: block means, factor x factor
    factor: int
    range: tuple[float, float] | None  # None: no finite cell
    lazy: Any  # the 2-D lazy map
    compute: Callable[..., tuple[np.ndarray, ...]]

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.compute(self.lazy[key])[0]


def _finite_range(grid: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of the finite cells, None if there are none.


    Plain reductions first: a masked copy of a 4096x4096 map would add
    134 MB per channel to the run's peak memory for nothing.
    """
    if isinstance(grid, CoarseGrid):
        return grid.range
    if grid.size == 0:
        return None
    low, high = float(grid.min()), float(grid.max())
    if np.isfinite(low) and np.isfinite(high):
        return low, high
    finite = grid[np.isfinite(grid)]  # rare: padding cells (-inf) or NaN present
    return (float(finite.min()), float(finite.max())) if finite.size else None


def colour_scale(grids: Sequence[np.ndarray], centred: bool) -> Normalize:
    """One scale for grids shown together; symmetric around 0 when centred."""
    ranges = [r for r in map(_finite_range, grids) if r is not None]
    if not ranges:
        return Normalize(-1.0, 1.0)
    low = min(r[0] for r in ranges)
    high = max(r[1] for r in ranges)
    if centred:
        reach = max(abs(low), abs(high)) or 1.0
        return Normalize(-reach, reach)
    if low == high:
        return Normalize(low - 1.0, high + 1.0)
    return Normalize(low, high)


def colormap(style: Style) -> Colormap:
    return colormaps[style.cmap].with_extremes(bad=PAD_COLOUR)


def display_grid(grid: np.ndarray) -> tuple[np.ndarray, int]:
    """The grid as drawn: block means when it is much larger than the figure's pixels."""
    if isinstance(grid, CoarseGrid):
        return grid.means, grid.factor
    factor = max(1, math.ceil(max(grid.shape) / DISPLAY_MAX))
    if factor == 1:
        return grid, 1
    rows, cols = (n // factor * factor for n in grid.shape)
    blocks = grid[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor)
    with np.errstate(invalid="ignore"):
        return blocks.mean(axis=(1, 3)), factor


def annotation_size(grid: np.ndarray, box_inches: float) -> float:
    """Font size for the numbers in a panel `box_inches` across; 0 means none fit.


    The widest number of the grid gets at most 2/3 of its cell's width.
    """
    if max(grid.shape) > ANNOTATE_MAX:
        return 0.0
    cell_points = box_inches * 72 / max(grid.shape)
    texts = {cell_text(float(v)) for v in grid.ravel()} - {""} or {"−0.00"}
    widest = max(text_width(text) for text in texts)  # in points at size 1
    size = min(9.5, 0.66 * cell_points / max(widest, 0.1), 0.42 * cell_points)
    return size if size >= 4.5 else 0.0


def _title_size(ax: Axes, title: str) -> float:
    """9 pt, or smaller (down to 6) so that the title fits over its panel."""
    figure = ax.get_figure(root=True)
    assert figure is not None
    width = ax.get_position().width * figure.get_figwidth() + 0.25  # inches, gaps included
    return max(6.0, min(9.0, 9.0 * width / max(text_inches(title, 9.0), 0.01)))


def heatmap(
    ax: Axes, panel: Panel, norm: Normalize, style: Style, box_inches: float, indices: bool
) -> AxesImage:
    """Draw one map on `ax`: colours, and the values when the map is small enough.


    Data coordinates are the map's own (row, col) indices, shifted by
    `panel.origin` for a crop of a larger map.
    """
    grid = panel.grid
    if not isinstance(grid, CoarseGrid):
        grid = np.asarray(grid, dtype=np.float64)
    shown, factor = display_grid(grid)
    cmap = colormap(style)
    rows, cols = grid.shape
    top, left = panel.origin
    extent = (left - 0.5, left + cols - 0.5, top + rows - 0.5, top - 0.5)
    # Square cells, except for maps so long and thin that they would be a line:
    # those fill their panel (layout.box keeps it at least 0.3 as high as wide).
    aspect: Literal["equal", "auto"] = (
        "equal" if MIN_ASPECT <= rows / cols <= 1 / MIN_ASPECT else "auto"
    )
    image = ax.imshow(
        np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect=aspect, extent=extent
    )
    title = panel.title + (f" (drawn at 1/{factor})" if factor > 1 else "")
    ax.set_title(title, fontsize=_title_size(ax, title), pad=3)
    small = max(rows, cols) <= ANNOTATE_MAX
    if small or not indices:
        ax.set_xticks([])
        ax.set_yticks([])
    if not small:
        ax.tick_params(labelsize=7, length=2, pad=1.5)
        return image
    if indices:
        index_labels(ax, rows, cols, panel.origin)
    # Thin white lines between cells (two collections: cheaper than minor ticks).
    ax.hlines(
        np.arange(top + 0.5, top + rows - 1),
        left - 0.5,
        left + cols - 0.5,
        colors="white",
        linewidths=0.6,
    )
    ax.vlines(
        np.arange(left + 0.5, left + cols - 1),
        top - 0.5,
        top + rows - 0.5,
        colors="white",
        linewidths=0.6,
    )
    if panel.padding is not None:
        for i, j in np.argwhere(panel.padding):
            ax.add_patch(
                Rectangle(
                    (left + j - 0.5, top + i - 0.5),
                    1,
                    1,
                    fill=False,
                    hatch="///",
                    linewidth=0,
                    edgecolor="#555555",
                )
            )
    size = annotation_size(grid, box_inches)
    if size:
        annotate(ax, grid, cmap, norm, size, panel.origin)
    return image


def draw_blocks(blocks: Sequence[Block], title: str, style: Style, footer: str = "") -> Figure:
    """Lay the blocks out (layout.place) and draw every panel and colour bar."""
    return draw_placed(blocks, title, style, footer)[0]


def draw_placed(
    blocks: Sequence[Block], title: str, style: Style, footer: str = ""
) -> tuple[Figure, list[Placed]]:
    """draw_blocks, also giving each block's axes (to draw on them afterwards)."""
    fig, placed = place(blocks, title, footer)
    for block, spot in zip(blocks, placed, strict=True):
        norm = colour_scale(block.scale_from or [p.grid for p in block.panels], style.centred)
        image = None
        for ax, panel in zip(spot.axes, block.panels, strict=True):
            image = heatmap(ax, panel, norm, style, spot.box_inches, block.indices)
        assert image is not None
        colorbar = fig.colorbar(image, cax=spot.colorbar)
        colorbar.ax.tick_params(labelsize=7.5)
    return fig, placed
