"""figures/kernels.gif: every weighted stage's kernels, one frame per epoch.

One row per weighted stage, each on one colour scale over all epochs
(centred on 0), so a kernel that grows or flips shows it as it happens. The
figure is drawn once; each frame redraws only the maps, their numbers and
the title line (blitting, as animate.py does), and animate.write_gif saves
the frames.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import Normalize
from matplotlib.image import AxesImage
from PIL import Image

from xopipe.figures.animate import DPI
from xopipe.figures.labels import word
from xopipe.figures.layout import Block, Panel, Style
from xopipe.figures.maps import annotation_size, colormap, colour_scale, draw_placed
from xopipe.figures.numbers import number_collections
from xopipe.figures.training_figures import KERNEL_SIDE, MAX_ACROSS, kernel_label
from xopipe.figures.training_story import TrainingStory, shown_epochs
from xopipe.ops.text import shape_text

MAX_FRAMES = 120  # epochs, evenly spread over the run when it has more


def _pairs(weights: np.ndarray) -> list[tuple[int, int]]:
    return [(k, c) for k in range(weights.shape[1]) for c in range(weights.shape[2])][:MAX_ACROSS]


def _title(story: TrainingStory, position: int, lang: str) -> str:
    loss, accuracy = (values[position] for values in story.scores["test"])
    return (
        f"{word(lang, 'kernels by epoch')}: {word(lang, 'epoch')} {story.epochs[position]} / "
        f"{story.last} · {word(lang, 'test')} {word(lang, 'loss')} {loss:.4f}, "
        f"{word(lang, 'accuracy')} {accuracy:.3f}"
    )


def kernel_frames(story: TrainingStory, style: Style) -> list[Image.Image]:
    """One image per shown epoch (all, up to MAX_FRAMES), the first epoch first."""
    style = replace(style, centred=True)
    positions = shown_epochs(len(story.epochs), MAX_FRAMES)
    blocks = []
    for stage, weights in story.kernels.items():
        panels = [
            Panel(weights[0, k, c], kernel_label(style.lang, k, c, weights.shape[2]))
            for k, c in _pairs(weights)
        ]
        title = f"{word(style.lang, 'kernels')} ({stage}) [{shape_text(weights.shape[1:])}]"
        blocks.append(Block(title, panels, False, KERNEL_SIDE, len(panels), scale_from=[weights]))
    fig, placed = draw_placed(blocks, _title(story, 0, style.lang), style)
    fig.set_dpi(DPI)
    canvas = FigureCanvasAgg(fig)
    heading = fig.texts[0]  # place() writes the figure's title first
    cmap = colormap(style)
    moving: list[tuple[AxesImage, np.ndarray, list[LineCollection], float, Normalize]] = []
    for weights, spot in zip(story.kernels.values(), placed, strict=True):
        norm = colour_scale([weights], True)
        for ax, (k, c) in zip(spot.axes, _pairs(weights), strict=True):
            grids = weights[:, k, c]
            size = min(annotation_size(grid, spot.box_inches) for grid in grids)
            for numbers in [a for a in ax.collections if isinstance(a, PathCollection)]:
                numbers.remove()  # drawn again with each frame's values
            lines = [a for a in ax.collections if isinstance(a, LineCollection)]
            image = ax.images[0]
            for artist in (image, *lines):
                artist.set_animated(True)
            moving.append((image, grids, lines, size, norm))
    heading.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    for position in positions:
        canvas.restore_region(background)
        heading.set_text(_title(story, position, style.lang))
        fig.draw_artist(heading)
        for image, grids, lines, size, norm in moving:
            grid = grids[position]
            image.set_data(np.ma.masked_invalid(grid))
            fig.draw_artist(image)
            for line in lines:
                fig.draw_artist(line)
            if size:
                ax = image.axes
                for numbers in number_collections(ax, grid, cmap, norm, size):
                    ax.add_collection(numbers, autolim=False)
                    numbers.set_animated(True)
                    fig.draw_artist(numbers)
                    numbers.remove()
        frames.append(
            Image.frombuffer(
                "RGBA", canvas.get_width_height(), bytes(canvas.buffer_rgba())
            ).convert("RGB")
        )
    return frames
