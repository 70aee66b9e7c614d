"""Heatmaps with their numbers: the input, the kernels, each stage, the overview.

Figures are plain `matplotlib.figure.Figure` objects (no pyplot, so no GUI
backend and no global state): savefig renders them headless with Agg, SVG
or PDF. Small maps (up to ANNOTATE_MAX cells a side) carry each value with
2 decimals; larger ones are drawn as images, averaged down when huge.
Panels are placed at fixed sizes in inches (layout.py), which keeps
drawing fast and every figure's size predictable.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

from xopipe.experiment import Experiment
from xopipe.explain.text import shape_text
from xopipe.figures.labels import cell_text, describe, word
from xopipe.figures.layout import (
    ANNOTATE_MAX,
    MIN_ASPECT,
    Block,
    Panel,
    Placed,
    Style,
    natural_side,
    place,
    text_inches,
)
from xopipe.ops.conv import ConvParams
from xopipe.pipeline import SOURCE

MAX_PANELS = 12  # channels drawn in one stage figure
OVERVIEW_COLUMNS = 6  # channels drawn per overview row
DISPLAY_MAX = 512  # larger maps are averaged down to about this many pixels a side
PAD_COLOUR = "#d9d9d9"  # cells with no number (-inf padding)


def _finite_range(grid: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of the finite cells, None if there are none.

    Plain reductions first: a masked copy of a 4096x4096 map would add
    134 MB per channel to the run's peak memory for nothing.
    """
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
    widest = max(_unit_outline(text)[1] for text in texts)  # in points at size 1
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
    grid = np.asarray(panel.grid, dtype=np.float64)
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


INDEX_POINTS = 7.0  # size of the row and column numbers around a small map


def index_labels(ax: Axes, rows: int, cols: int, origin: tuple[int, int] = (0, 0)) -> None:
    """Row numbers left of a map and column numbers under it.

    Drawn like the cell values (outlines in one collection) instead of as
    tick labels: a Tick is several artists, and small maps have many.
    """
    top, left = origin
    gap = 3.0  # points between the map and its numbers
    paths: list[Path] = []
    offsets: list[tuple[float, float]] = []
    for j in range(cols):
        shifted = Affine2D().translate(0, -gap - INDEX_POINTS * 0.5)
        paths.append(number_path(str(left + j), INDEX_POINTS).transformed(shifted))
        offsets.append((left + j, top + rows - 0.5))
    for i in range(rows):
        width = _unit_outline(str(top + i))[1] * INDEX_POINTS
        shifted = Affine2D().translate(-gap - width / 2, 0)
        paths.append(number_path(str(top + i), INDEX_POINTS).transformed(shifted))
        offsets.append((left - 0.5, top + i))
    figure = ax.get_figure(root=True)
    assert figure is not None
    labels = PathCollection(
        paths,
        offsets=offsets,
        offset_transform=ax.transData,
        transform=Affine2D().scale(1 / 72) + figure.dpi_scale_trans,
        facecolors="#333333",
        edgecolors="none",
        clip_on=False,
    )
    ax.add_collection(labels, autolim=False)


def annotate(
    ax: Axes,
    grid: np.ndarray,
    cmap: Colormap,
    norm: Normalize,
    size: float,
    origin: tuple[int, int] = (0, 0),
) -> None:
    """Each cell's value on it, white on dark colours and black on light ones."""
    for numbers in number_collections(ax, grid, cmap, norm, size, origin):
        ax.add_collection(numbers, autolim=False)


def number_collections(
    ax: Axes,
    grid: np.ndarray,
    cmap: Colormap,
    norm: Normalize,
    size: float,
    origin: tuple[int, int] = (0, 0),
) -> list[PathCollection]:
    """The numbers of `grid` (NaN cells left blank), one collection per text colour.

    The numbers are glyph outlines (one path per distinct text) rather than a
    Text artist per cell: the same look at a third of the cost, and a few
    hundred numbers per figure are common.
    """
    rgba = cmap(norm(np.where(np.isfinite(grid), grid, 0.0)))
    dark = rgba[..., :3] @ np.array([0.299, 0.587, 0.114]) < 0.5
    by_colour: dict[str, tuple[list[Path], list[tuple[int, int]]]] = {}
    for (i, j), value in np.ndenumerate(grid):
        if math.isnan(value):
            continue
        colour = "#444444" if math.isinf(value) else "white" if dark[i, j] else "black"
        paths, offsets = by_colour.setdefault(colour, ([], []))
        paths.append(number_path(cell_text(value), round(size, 1)))
        offsets.append((origin[1] + j, origin[0] + i))
    figure = ax.get_figure(root=True)
    assert figure is not None
    points = Affine2D().scale(1 / 72) + figure.dpi_scale_trans  # path units are points
    return [
        PathCollection(
            paths,
            offsets=offsets,
            offset_transform=ax.transData,
            transform=points,
            facecolors=colour,
            edgecolors="none",
        )
        for colour, (paths, offsets) in by_colour.items()
    ]


@functools.lru_cache(maxsize=4096)
def _unit_outline(text: str) -> tuple[Path, float]:
    """`text` in DejaVu Sans (it has every digit and the minus sign) at size 1,
    centred on (0, 0), and its width."""
    font = FontProperties(family="DejaVu Sans")
    path = TextPath((0, 0), text, size=1, prop=font)
    # The outline's points (control points included) are close enough for
    # centring, and much cheaper than the exact extents of its curves.
    left, right = path.vertices[:, 0].min(), path.vertices[:, 0].max()
    digit_height = TextPath((0, 0), "0", size=1, prop=font).vertices[:, 1].max()
    centred = path.transformed(Affine2D().translate(-(left + right) / 2, -digit_height / 2))
    return centred, float(right - left)


@functools.lru_cache(maxsize=4096)
def number_path(text: str, size: float) -> Path:
    """The outline of `text` at `size` points, centred on (0, 0), in points."""
    return _unit_outline(text)[0].transformed(Affine2D().scale(size))


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


def _channel(style: Style, label: str, index: int, shape: tuple[int, ...]) -> str:
    """A panel's title; `label` (what the map is) when the figure title does not say it."""
    channel = f"{word(style.lang, 'channel')} {index} · {shape_text(shape)}"
    return f"{label} · {channel}" if label else channel


def _more(style: Style, hidden: int, where: str = "; all are in matrices/") -> str:
    if hidden <= 0:
        return ""
    if style.lang == "zh":
        return f"(另有 {hidden} {word('zh', 'more')})"
    return f"({hidden} more not shown{where})"


def input_block(experiment: Experiment, style: Style, limit: int, indices: bool) -> Block:
    source = experiment.source
    label = word(style.lang, "input")
    panels = [
        Panel(
            source[c],
            _channel(style, label, c, source.shape[1:])
            if indices
            else f"{word(style.lang, 'channel')} {c}",
        )
        for c in range(min(source.shape[0], limit))
    ]
    title = f"{label}: {experiment.source_name} [{shape_text(source.shape)}]"
    note = _more(style, source.shape[0] - len(panels))
    return Block(title + (f"  {note}" if note else ""), panels, indices)


def kernels_block(
    experiment: Experiment, name: str, style: Style, limit: int, indices: bool
) -> Block:
    """Each kernel as applied (flipped already when conv.flip is on), channel by channel."""
    params = experiment.stages[name].params
    assert isinstance(params, ConvParams)
    count, depth, kh, kw = params.weight.shape
    panels = []
    for k in range(count):
        label = params.names[k] if k < len(params.names) else f"kernel {k}"
        if style.lang == "zh":
            label = f"{word('zh', 'kernel')} {k}"
        for c in range(depth):
            channel = f" · {word(style.lang, 'channel')} {c}" if depth > 1 else ""
            size = f" · {kh}×{kw}" if indices else ""  # the overview's row title has it
            panels.append(Panel(params.weight[k, c], f"{label}{channel}{size}"))
    shown = panels[:limit]
    note = _more(style, len(panels) - len(shown), "")
    title = f"{word(style.lang, 'kernels')} ({name}) [{shape_text(params.weight.shape)}]"
    return Block(title + (f"  {note}" if note else ""), shown, indices)


def stage_title(experiment: Experiment, name: str, style: Style) -> str:
    """Two lines: what the stage is and reads, and what it does."""
    stage = experiment.stages[name]
    shapes = experiment.shapes
    head = (
        f"{word(style.lang, stage.spec.op)}: {name} [{shape_text(stage.shape)}] "
        f"← {stage.spec.input} [{shape_text(shapes[stage.spec.input])}]"
    )
    return f"{head}\n{describe(stage, shapes[stage.spec.input])}"


def stage_block(
    experiment: Experiment, name: str, array: np.ndarray, style: Style, limit: int, indices: bool
) -> Block:
    panels = [
        Panel(
            array[c],
            _channel(style, "", c, array.shape[1:])  # the block title names the map
            if indices
            else f"{word(style.lang, 'channel')} {c}",
        )
        for c in range(min(array.shape[0], limit))
    ]
    note = _more(style, array.shape[0] - len(panels))
    return Block(
        stage_title(experiment, name, style) + (f"  {note}" if note else ""), panels, indices
    )


def input_figure(experiment: Experiment, style: Style) -> Figure:
    return draw_blocks([input_block(experiment, style, MAX_PANELS, True)], "", style)


def kernels_figure(experiment: Experiment, name: str, style: Style) -> Figure:
    return draw_blocks([kernels_block(experiment, name, style, MAX_PANELS, True)], "", style)


def stage_figure(experiment: Experiment, name: str, array: np.ndarray, style: Style) -> Figure:
    block = stage_block(experiment, name, array, style, MAX_PANELS, True)
    return draw_blocks([block], "", style)


def overview_rows(experiment: Experiment) -> list[tuple[str, str]]:
    """The overview's rows in pipeline order: (kind, stage); kind is input, kernels or stage."""
    rows = [("input", SOURCE)]
    for name in experiment.pipeline.order:
        if isinstance(experiment.stages[name].params, ConvParams):
            rows.append(("kernels", name))
        rows.append(("stage", name))
    return rows


def overview_blocks(
    experiment: Experiment, arrays: dict[str, np.ndarray], style: Style
) -> list[Block]:
    blocks = []
    for kind, name in overview_rows(experiment):
        if kind == "input":
            blocks.append(input_block(experiment, style, OVERVIEW_COLUMNS, False))
        elif kind == "kernels":
            blocks.append(kernels_block(experiment, name, style, OVERVIEW_COLUMNS, False))
        else:
            blocks.append(
                stage_block(experiment, name, arrays[name], style, OVERVIEW_COLUMNS, False)
            )
    return blocks


def overview_figure(experiment: Experiment, arrays: dict[str, np.ndarray], style: Style) -> Figure:
    """The whole pipeline in order, one row each: input, kernels, every stage's maps."""
    blocks = [
        Block(
            b.title,
            b.panels,
            b.indices,
            side=natural_side(b.panels[0].grid.shape, low=1.4, high=3.8, large=3.0),
            across=OVERVIEW_COLUMNS,
        )
        for b in overview_blocks(experiment, arrays, style)
    ]
    return draw_blocks(blocks, word(style.lang, "overview"), style)
