"""The picture of an explanation: where the window sits, its numbers, the result.

Rows from top to bottom: the stage's input with the window outlined (a
crop around it when the map is large), the window and what is done with it
(for conv: window, kernel, products), and the output map with the cell
outlined; the arithmetic is printed under them, as on the console.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from xopipe.explain import Explanation
from xopipe.figures.labels import word
from xopipe.figures.layout import Block, Panel, Style
from xopipe.figures.maps import ANNOTATE_MAX, CoarseGrid, draw_placed
from xopipe.ops.text import shape_text

HIGHLIGHT = "#ffb000"  # the window and the cell, on every colormap
CONTEXT = 3  # cells shown around the window in a crop of a large map
MAX_CHANNEL_ROWS = 3  # input channels drawn, at most, when grids come per channel


def _crop(
    plane: np.ndarray, origin: tuple[int, int], rows: list[int], cols: list[int]
) -> tuple[np.ndarray, tuple[int, int]]:
    """The whole map when small, else the part around the window; with its origin.

    `plane[0, 0]` sits at `origin` in the map's own (row, col) indices, and so
    does the crop's first cell at the returned origin.
    """
    height, width = plane.shape
    if height <= ANNOTATE_MAX and width <= ANNOTATE_MAX:
        return plane, origin
    top = [r - origin[0] for r in rows]
    left = [c - origin[1] for c in cols]
    r0, c0 = max(0, min(top) - CONTEXT), max(0, min(left) - CONTEXT)
    r1 = min(height, r0 + ANNOTATE_MAX, max(top) + CONTEXT + 1)
    c1 = min(width, c0 + ANNOTATE_MAX, max(left) + CONTEXT + 1)
    return plane[r0:r1, c0:c1], (origin[0] + r0, origin[1] + c0)


def _padding(grid: np.ndarray, origin: tuple[int, int], shape: tuple[int, ...]) -> np.ndarray:
    """Cells of a crop that lie outside the map itself (padding or added zeros)."""
    rows = np.arange(grid.shape[0]) + origin[0]
    cols = np.arange(grid.shape[1]) + origin[1]
    return np.logical_or.outer((rows < 0) | (rows >= shape[0]), (cols < 0) | (cols >= shape[1]))


def _outline(ax: Axes, rows: list[int], cols: list[int]) -> None:
    """Outline each cell of the window, and let the view reach cells in the padding."""
    for r in rows:
        for c in cols:
            ax.add_patch(
                Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=HIGHLIGHT, linewidth=2.2)
            )
    x0, x1 = ax.get_xlim()
    y_bottom, y_top = ax.get_ylim()
    ax.set_xlim(min(x0, min(cols) - 0.6), max(x1, max(cols) + 0.6))
    ax.set_ylim(max(y_bottom, max(rows) + 0.6), min(y_top, min(rows) - 0.6))


def _summary(e: Explanation) -> str:
    """The arithmetic lines of the explanation (its grids are drawn above)."""
    lines = [
        line.strip()
        for line in e.steps[1:]
        if not line.startswith("    ") and not line.rstrip().endswith(":")
    ]
    return "\n".join(lines)


def _grid_title(lang: str, title: str, detail: str) -> str:
    if title == "kernel":
        return detail if lang == "en" else f"{word(lang, 'kernel')} {detail.split()[-1]}"
    return f"{word(lang, title)} · {detail.replace('channel', word(lang, 'channel'))}"


def explain_figure(e: Explanation, arrays: dict[str, np.ndarray], style: Style) -> Figure:
    lang = style.lang
    cell = e.cell
    context = e.context if e.context is not None else arrays[e.source][e.source_channel]
    crop, origin = _crop(context, e.context_origin, e.rows, e.cols)
    scale = context
    if not isinstance(context, (np.ndarray, CoarseGrid)):
        # A lazy run's map (backend=dask) is not read whole: its colours are the range
        # figures/coarse.py found in its block-mean pass, else the crop's own.
        crop = np.asarray(crop)
        whole = arrays[e.source][e.source_channel]
        scale = whole if isinstance(whole, CoarseGrid) else crop
    label = word(lang, "input") if e.source == "input" else e.source
    source_panel = Panel(
        crop,
        f"{label} · {word(lang, 'channel')} {e.source_channel}",
        _padding(crop, origin, e.source_shape[1:]),
        origin,
    )
    blocks = [
        Block(
            f"{word(lang, 'reads')}: {e.source} [{shape_text(e.source_shape)}]",
            [source_panel],
            indices=True,
            scale_from=[scale],  # the colours of the whole map, not just the crop
        )
    ]
    grids = e.grids
    if e.grids_per_channel:
        grids = grids[: e.grids_per_channel * MAX_CHANNEL_ROWS]
    if grids:
        blocks.append(
            Block(
                e.formula,
                [Panel(g.values, _grid_title(lang, g.title, g.detail), g.padding) for g in grids],
                indices=not e.elementwise,
                side=1.2 if e.elementwise else 2.2,
                across=3,
                scale_from=None if e.grids_own_scale else [scale],
            )
        )
    out_plane = arrays[cell.stage][cell.channel]
    out_crop, out_origin = _crop(out_plane, (0, 0), [cell.row], [cell.col])
    blocks.append(
        Block(
            f"{word(lang, 'output')}: {cell.stage} [{shape_text(arrays[cell.stage].shape)}]",
            [
                Panel(
                    out_crop,
                    f"{word(lang, e.op)} · {word(lang, 'channel')} {cell.channel}",
                    origin=out_origin,
                )
            ],
            indices=True,
            scale_from=[out_plane],
        )
    )
    title = f"{word(lang, 'explain')}: {cell}"
    fig, placed = draw_placed(blocks, title, style, footer=_summary(e))
    _outline(placed[0].axes[0], e.rows, e.cols)
    _outline(placed[-1].axes[0], [cell.row], [cell.col])
    return fig
