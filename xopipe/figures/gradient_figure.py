"""The gradients figure: dL/d every stage's output, the input and the weights, in backward order.

Gradients are signed whatever the values were (relu's output is never
negative, dL/d it may be), so this figure always uses a diverging scale
centred on 0, in the run's colour map.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from matplotlib.figure import Figure

from xopipe.experiment import Experiment
from xopipe.figures.draw import OVERVIEW_COLUMNS, _more
from xopipe.figures.labels import word
from xopipe.figures.layout import Block, Panel, Style, natural_side
from xopipe.figures.maps import draw_blocks
from xopipe.gradients import Gradients
from xopipe.ops.text import shape_text
from xopipe.pipeline import SOURCE


def gradients_figure(experiment: Experiment, gradients: Gradients, style: Style) -> Figure:
    centred = replace(style, centred=True)
    lang = style.lang
    blocks = []
    for name in reversed([SOURCE, *experiment.pipeline.order]):
        grid = gradients.arrays[name]
        panels = [
            Panel(grid[c], f"{word(lang, 'channel')} {c}")
            for c in range(min(grid.shape[0], OVERVIEW_COLUMNS))
        ]
        note = _more(style, grid.shape[0] - len(panels), "; all are in gradients/")
        title = f"dL/d{name} [{shape_text(grid.shape)}]" + (f"  {note}" if note else "")
        blocks.append(_block(title, panels))
        found = gradients.weights.get(name)
        if found is not None:
            count, depth = found.weight.shape[:2]
            panels = [
                Panel(
                    found.weight[k, c],
                    f"{word(lang, 'kernel')} {k}" + (f" · {c}" if depth > 1 else ""),
                )
                for k in range(count)
                for c in range(depth)
            ][:OVERVIEW_COLUMNS]
            title = f"dL/d {word(lang, 'kernels')} ({name}) [{shape_text(found.weight.shape)}]"
            blocks.append(_block(title + _bias_text(found.bias, lang), panels))
    loss = gradients.loss
    head = (
        f"{word(lang, 'gradients')}: L = {loss.kind} ({', '.join(loss.stages)}) "
        f"= {gradients.value:.6g}"
    )
    return draw_blocks(blocks, head, centred)


def _bias_text(bias: np.ndarray | None, lang: str) -> str:
    """dL/d the bias, one number per kernel, beside the kernels' maps (a bias is no map)."""
    if bias is None or bias.size == 0:
        return ""
    shown = ", ".join(f"{float(v):.4g}" for v in bias[:OVERVIEW_COLUMNS])
    more = ", ..." if bias.size > OVERVIEW_COLUMNS else ""
    return f";  dL/d {word(lang, 'bias')} [{shown}{more}]"


def _block(title: str, panels: list[Panel]) -> Block:
    side = natural_side(panels[0].grid.shape, low=1.4, high=3.8, large=3.0)
    return Block(title, panels, False, side=side, across=OVERVIEW_COLUMNS)
