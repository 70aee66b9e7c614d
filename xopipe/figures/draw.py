"""The figures of a run: the input, the kernels, each stage, the overview.

Each is a list of blocks of maps (maps.py), laid out and drawn with their
colour bars; render.py saves them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from xopipe.experiment import Experiment
from xopipe.figures.labels import word
from xopipe.figures.layout import (
    Block,
    Panel,
    Style,
    natural_side,
)
from xopipe.figures.maps import draw_blocks
from xopipe.ops.text import shape_text
from xopipe.ops.words import describe
from xopipe.pipeline import SOURCE

MAX_PANELS = 12  # channels drawn in one stage figure


OVERVIEW_COLUMNS = 6  # channels drawn per overview row


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
    stage = experiment.stages[name]
    params = stage.op.weights(stage.params)
    assert params is not None, f"{name} holds no weights"
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
    return f"{head}\n{describe(stage.op, stage.params, shapes[stage.spec.input])}"


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
        stage = experiment.stages[name]
        if stage.op.weights(stage.params) is not None:
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
