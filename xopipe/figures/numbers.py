"""Numbers on maps (cell values, row and column numbers), drawn as glyph outlines.

One path per distinct text, placed by a PathCollection, instead of a Text
artist per cell: the same look for less drawing work (what it saves is in
docs/benchmarks.md, "Speed tricks"). Everything that writes numbers onto a
map comes through here.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import Colormap, Normalize
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

from xopipe.figures.labels import cell_text

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


def text_width(text: str) -> float:
    """The width of `text` drawn at size 1, in points."""
    return _unit_outline(text)[1]
