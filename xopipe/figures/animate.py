"""`figures.animate=true`: the sliding window as an animated GIF, frame by frame.

For each conv and pool stage (on small inputs), one frame per output cell:
the window outlined on the input (padding included), the kernel for conv,
and the output map filling in cell by cell. Windows and values come from
explain.py, so the animation shows exactly what the explanation computes.
The figure is drawn once; each frame redraws only what moves (blitting).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from xopipe.experiment import Experiment
from xopipe.explain import CellRef, Explanation, explain
from xopipe.figures.labels import word
from xopipe.figures.layout import Panel, Style, natural_side
from xopipe.figures.maps import annotation_size, colormap, colour_scale, heatmap
from xopipe.figures.numbers import number_collections
from xopipe.ops import OPS
from xopipe.ops.text import shape_text
from xopipe.sinks.files import atomic_path

MAX_INPUT_SIDE = 20  # the input as the window sees it (padding included), rows and cols
MAX_FRAMES = 256  # output cells, one frame each
FRAME_MS = 450
LAST_FRAME_MS = 2500
DPI = 80
HIGHLIGHT = "#ffb000"


def animatable(experiment: Experiment, name: str) -> str | None:
    """None when the stage can be animated, else why not (for the log)."""
    stage = experiment.stages[name]
    if not stage.op.slides_window:
        sliding = " and ".join(op.name for op in OPS.values() if op.slides_window)
        return f"{name} is a {stage.spec.op} stage (only {sliding} slide a window)"
    rows, cols = stage.shape[1:]
    if rows * cols > MAX_FRAMES:
        return f"{name} has {rows}×{cols} output cells, more than {MAX_FRAMES} frames"
    return None


def slide_frames(
    experiment: Experiment, name: str, arrays: dict[str, np.ndarray], style: Style
) -> list[Image.Image] | None:
    """One image per output cell of channel 0 of stage `name`; None if the input is too big."""
    _, rows, cols = arrays[name].shape
    steps = [
        explain(CellRef(name, 0, i, j), experiment, arrays)
        for i in range(rows)
        for j in range(cols)
    ]
    context = steps[0].context
    assert context is not None
    if max(context.shape) > MAX_INPUT_SIDE:
        return None
    fig, canvas, update = _figure(experiment, name, steps[0], arrays[name][0], style)
    frames = []
    for step in steps:
        update(step)
        frames.append(
            Image.frombuffer(
                "RGBA", canvas.get_width_height(), bytes(canvas.buffer_rgba())
            ).convert("RGB")
        )
    return frames


def _figure(experiment, name, first: Explanation, output: np.ndarray, style: Style):
    """The static figure, its canvas, and update(explanation) to draw each frame."""
    lang = style.lang
    context = first.context
    assert context is not None
    origin = first.context_origin
    source_shape = first.source_shape[1:]
    stage = experiment.stages[name]
    weights = stage.op.weights(stage.params)
    kernel = weights.weight[0, 0] if weights is not None else None

    sides = [min(4.2, natural_side(context.shape))]
    if kernel is not None:
        sides.append(min(2.0, natural_side(kernel.shape)))
    sides.append(min(3.6, natural_side(output.shape)))
    gap, left, top, bottom = 0.55, 0.4, 0.75, 0.35
    width = left + sum(sides) + gap * (len(sides) - 1) + 0.2
    height = top + max(sides) + bottom
    fig = Figure(figsize=(width, height), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    axes, x = [], left
    for side in sides:
        axes.append(
            fig.add_axes(
                (x / width, (bottom + max(sides) - side) / height, side / width, side / height)
            )
        )
        x += side + gap

    rows_in = np.arange(context.shape[0]) + origin[0]
    cols_in = np.arange(context.shape[1]) + origin[1]
    padding = np.logical_or.outer(
        (rows_in < 0) | (rows_in >= source_shape[0]), (cols_in < 0) | (cols_in >= source_shape[1])
    )
    label = word(lang, "input") if first.source == "input" else first.source
    source_title = f"{label} · {word(lang, 'channel')} {first.source_channel}"
    heatmap(
        axes[0],
        Panel(context, source_title, padding, origin),
        colour_scale([context], style.centred),
        style,
        sides[0],
        indices=True,
    )
    if kernel is not None:
        assert weights is not None
        kernel_name = weights.names[0] if weights.names else "kernel 0"
        if lang == "zh":
            kernel_name = f"{word(lang, 'kernel')} 0"
        heatmap(
            axes[1],
            Panel(kernel, kernel_name),
            colour_scale([kernel], style.centred),
            style,
            sides[1],
            indices=True,
        )
    out_ax = axes[-1]
    norm = colour_scale([output], style.centred)
    cmap = colormap(style)
    blank = np.full(output.shape, np.nan)
    out_title = f"{word(lang, experiment.stages[name].spec.op)} · {word(lang, 'channel')} 0"
    image = heatmap(out_ax, Panel(blank, out_title), norm, style, sides[-1], indices=True)
    image.set_animated(True)
    fig.text(
        0.5,
        1 - 0.12 / height,
        f"{name}, {word(lang, 'channel')} 0 [{shape_text(output.shape)}] ← {first.source} "
        f"[{shape_text(first.source_shape)}]: {first.formula}",
        ha="center",
        va="top",
        fontsize=10.5,
    )
    size = annotation_size(output, sides[-1])
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    filled = blank.copy()

    def update(step: Explanation) -> None:
        canvas.restore_region(background)
        cell = step.cell
        filled[cell.row, cell.col] = output[cell.row, cell.col]
        image.set_data(np.ma.masked_invalid(filled))
        fig.draw_artist(image)
        moving: list[Artist] = []
        if size:
            for numbers in number_collections(out_ax, filled, cmap, norm, size):
                moving.append(out_ax.add_collection(numbers, autolim=False))
        moving.append(out_ax.add_patch(_outline(cell.row, cell.col)))
        moving += [axes[0].add_patch(_outline(r, c)) for r in step.rows for c in step.cols]
        for artist in moving:
            artist.set_animated(True)
            fig.draw_artist(artist)
            artist.remove()

    return fig, canvas, update


def _outline(row: int, col: int) -> Rectangle:
    return Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor=HIGHLIGHT, linewidth=2.5)


def write_gif(path: Path, frames: list[Image.Image]) -> None:
    """Frames as a looping GIF, all on the palette of the last (complete) frame."""
    palette = frames[-1].quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    indexed = [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    durations = [FRAME_MS] * (len(indexed) - 1) + [LAST_FRAME_MS]
    buffer = io.BytesIO()
    indexed[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=indexed[1:],
        duration=durations,
        loop=0,
    )
    with atomic_path(path) as temporary:
        temporary.write_bytes(buffer.getvalue())
