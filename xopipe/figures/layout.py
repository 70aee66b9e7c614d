"""Where panels go: blocks of same-sized panels, each with a title and a colour bar.

Sizes are fixed in inches from each map's shape, so a figure's size is known
before it is drawn and no layout engine has to measure text (which costs
more than drawing it). A block is one row (or a few rows) of panels that
share a colour scale: a stage's channels, the kernels of a conv.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

DPI = 110
ANNOTATE_MAX = 16  # maps up to this many rows and cols show their values
MIN_ASPECT = 0.3  # a panel is at least this high for its width (and wide for its height)
MAX_WIDTH = 15.0  # inches; wider rows shrink their panels instead
CELL_INCHES = 0.42  # a cell of a small map: room for "-0.11" at 7-10 pt
LARGE_SIDE = 3.6  # inches for a map too large to carry its numbers
ACROSS = 4  # panels per row in a figure of its own
TITLE_LINE = 0.24  # inches per line of a block title (10.5 pt)
SUPTITLE_LINE = 0.3  # inches per line of the figure title (12.5 pt)
PANEL_TITLE = 0.26  # inches above each panel for its title (9 pt)
COLORBAR = (0.15, 0.14, 0.5)  # gap before, width, room for the tick labels
FOOTER_POINTS = 9.0  # monospaced arithmetic under an explanation
FOOTER_LINE = 0.18  # inches per footer line
BAND = "#f4f4f4"  # background of every other block, so rows read apart


@dataclass(frozen=True)
class Style:
    lang: str  # the language titles are really in (after the font check)
    cmap: str
    centred: bool  # symmetric colour scale around 0


@dataclass(frozen=True)
class Panel:
    grid: np.ndarray  # 2-D
    title: str
    padding: np.ndarray | None = None  # bool mask of cells to hatch (padding)
    origin: tuple[int, int] = (0, 0)  # (row, col) of grid[0, 0] in the map it was cut from


@dataclass(frozen=True)
class Block:
    title: str  # lines above the panels
    panels: Sequence[Panel]  # all of one shape
    indices: bool  # row and column numbers on the axes
    side: float | None = None  # inches for the panels' longer side; None: from the shape
    across: int = ACROSS  # panels per row at most
    scale_from: Sequence[np.ndarray] | None = None  # grids that set the colour scale


@dataclass
class Placed:
    axes: list[Axes]
    colorbar: Axes
    box_inches: float  # the longer side of each panel's box
    extra: dict[str, float] = field(default_factory=dict)


def natural_side(
    shape: tuple[int, ...], low: float = 1.7, high: float = 5.0, large: float = LARGE_SIDE
) -> float:
    """Inches for a panel's longer side: every number fits on a small map.

    Small maps get the same cell size whatever their shape, so a map that
    shrinks through the pipeline (9x9 -> 7x7 -> 4x4) shrinks on the page too.
    """
    n = max(shape)
    if n <= ANNOTATE_MAX:
        return min(high, max(low, CELL_INCHES * n))
    return large


def box(shape: tuple[int, ...], side: float) -> tuple[float, float]:
    """(width, height) in inches of a panel whose longer side is `side`."""
    rows, cols = shape
    if rows >= cols:
        return max(side * cols / rows, MIN_ASPECT * side), side
    return side, max(side * rows / cols, MIN_ASPECT * side)


def text_inches(text: str, points: float) -> float:
    """A generous estimate of a line's width (wide CJK characters count double)."""
    units = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return units * points * 0.56 / 72


@dataclass(frozen=True)
class _Geometry:
    left: float
    gap: float
    below: float
    across: int
    rows: int
    width: float  # of one panel
    height: float
    title_lines: int

    @property
    def panels_width(self) -> float:
        return self.across * self.width + (self.across - 1) * self.gap

    @property
    def total_width(self) -> float:
        return self.left + self.panels_width + sum(COLORBAR) + 0.1

    @property
    def total_height(self) -> float:
        per_row = PANEL_TITLE + self.height + self.below
        return self.title_lines * TITLE_LINE + 0.08 + self.rows * per_row + 0.12


def _geometry(block: Block) -> _Geometry:
    shape = block.panels[0].grid.shape
    side = block.side if block.side is not None else natural_side(shape)
    left, gap, below = (0.45, 0.42, 0.28) if block.indices else (0.2, 0.18, 0.06)
    count = len(block.panels)
    across = min(count, block.across)
    width, height = box(shape, side)
    room = MAX_WIDTH - left - sum(COLORBAR) - 0.1
    if across * width + (across - 1) * gap > room:
        scale = (room - (across - 1) * gap) / (across * width)
        width, height, side = width * scale, height * scale, side * scale
    lines = block.title.count("\n") + 1 if block.title else 0
    return _Geometry(left, gap, below, across, math.ceil(count / across), width, height, lines)


def place(blocks: Sequence[Block], title: str, footer: str = "") -> tuple[Figure, list[Placed]]:
    """A figure with an Axes per panel and one for each block's colour bar.

    `footer` is monospaced text under the blocks (an explanation's arithmetic).
    """
    geometries = [_geometry(block) for block in blocks]
    title_lines = title.count("\n") + 1 if title else 0
    longest = max(
        [text_inches(line, 10.5) + 0.3 for b in blocks for line in b.title.splitlines()]
        + [text_inches(line, 12.5) + 0.3 for line in title.splitlines()]
        + [text_inches(line, FOOTER_POINTS) * 1.1 + 0.3 for line in footer.splitlines()]
        + [0.0]
    )
    width = max(4.0, longest, *(g.total_width for g in geometries))
    footer_height = (footer.count("\n") + 1) * FOOTER_LINE + 0.2 if footer else 0.0
    height = (
        title_lines * SUPTITLE_LINE
        + (0.12 if title else 0)
        + sum(g.total_height for g in geometries)
        + footer_height
    )
    fig = Figure(figsize=(width, height), dpi=DPI)

    def frame(x: float, y_top: float, w: float, h: float) -> tuple[float, float, float, float]:
        """(left, bottom, width, height) as figure fractions, from inches (y from the top)."""
        return (x / width, (height - y_top - h) / height, w / width, h / height)

    if title:
        fig.text(0.5, 1 - 0.08 / height, title, ha="center", va="top", fontsize=13)
    y = title_lines * SUPTITLE_LINE + (0.12 if title else 0)
    placed = []
    for index, (block, g) in enumerate(zip(blocks, geometries, strict=True)):
        if len(blocks) > 1 and index % 2 == 1:
            fig.patches.append(
                Rectangle(
                    frame(0, y, width, g.total_height)[:2],
                    1,
                    g.total_height / height,
                    transform=fig.transFigure,
                    color=BAND,
                    zorder=-10,
                )
            )
        if block.title:
            fig.text(
                0.12 / width,
                1 - (y + 0.06) / height,
                block.title,
                ha="left",
                va="top",
                fontsize=10.5,
                linespacing=1.25,
            )
        top = y + g.title_lines * TITLE_LINE + 0.08
        axes = []
        for n in range(len(block.panels)):
            row, col = divmod(n, g.across)
            x = g.left + col * (g.width + g.gap)
            y_panel = top + row * (PANEL_TITLE + g.height + g.below) + PANEL_TITLE
            axes.append(fig.add_axes(frame(x, y_panel, g.width, g.height)))
        bar_x = g.left + g.panels_width + COLORBAR[0]
        bar_height = g.rows * (PANEL_TITLE + g.height + g.below) - PANEL_TITLE - g.below
        colorbar = fig.add_axes(frame(bar_x, top + PANEL_TITLE, COLORBAR[1], bar_height))
        placed.append(Placed(axes, colorbar, max(g.width, g.height)))
        y += g.total_height
    if footer:
        fig.text(
            0.15 / width,
            1 - (y + 0.1) / height,
            footer,
            ha="left",
            va="top",
            fontsize=FOOTER_POINTS,
            family="monospace",
            linespacing=1.3,
        )
    return fig, placed
