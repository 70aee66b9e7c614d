"""`explain=stage:channel:row:col`: how one output cell was computed, step by step.

The value is computed again from the stage's real input array, in the run's
dtype, with the same operations in the same order as the loop backend
(the readable reference), so the printed arithmetic ends on the stored
value: bit for bit on `backend=loop`, to the last bit or so on numpy and
torch, which add the same products in another order. Backends are reached
through the registry only. figures/ draws what this computes, and the
explorer page writes the same text in the browser.
"""

from __future__ import annotations

import difflib

import numpy as np

from xopipe.errors import UserError
from xopipe.experiment import Experiment
from xopipe.ops import OPS
from xopipe.ops.explanation import CellRef, Explanation, Grid, cell_value
from xopipe.ops.text import shape_text, show, show_grid

FORMAT = "stage:channel:row:col, e.g. conv:0:1:2"


def parse_cell(text: str, experiment: Experiment) -> CellRef:
    """`stage:channel:row:col`, checked against the stage's output shape."""
    parts = str(text).rsplit(":", 3)
    if len(parts) != 4:
        raise UserError(f"explain must be {FORMAT}, got {text!r}")
    stage, *numbers = parts
    if ":" in stage:  # five parts or more: a gradient's form, or a misspelt one
        first, rest = str(text).split(":", 1)
        hint = f"; did you mean grad:{rest}?" if _close(first, "grad") else ""
        raise UserError(
            f"explain must be {FORMAT}, or grad:{FORMAT.split(', ')[0]} for a gradient (with a "
            f"loss), got {text!r}{hint}"
        )
    if stage not in experiment.stages:
        names = ", ".join(experiment.pipeline.order)
        raise UserError(f"explain: the stage must be one of {names}, got {stage!r} in {text!r}")
    try:
        channel, row, col = (int(n) for n in numbers)
    except ValueError:
        raise UserError(f"explain must be {FORMAT} with whole numbers, got {text!r}") from None
    shape = experiment.stages[stage].shape
    if not all(0 <= n < size for n, size in zip((channel, row, col), shape, strict=True)):
        raise UserError(
            f"explain: {stage} is {shape_text(shape)}, so channel must be 0..{shape[0] - 1}, "
            f"row 0..{shape[1] - 1} and col 0..{shape[2] - 1}; got {text!r}"
        )
    return CellRef(stage, channel, row, col)


def _close(word: str, target: str) -> bool:
    return bool(difflib.get_close_matches(word.lower(), [target], n=1, cutoff=0.6))


def explain(cell: CellRef, experiment: Experiment, arrays: dict[str, np.ndarray]) -> Explanation:
    """Compute `cell` again, step by step, from its stage's input in `arrays`."""
    stage = experiment.stages[cell.stage]
    source = stage.spec.input
    x = arrays[source]
    stored = cell_value(arrays[cell.stage][cell.channel, cell.row, cell.col])
    result = OPS[stage.spec.op].explain(cell, stage.params, x, experiment.dtype)
    result.op, result.source, result.source_shape = stage.spec.op, source, x.shape
    result.stored = stored
    head = (
        f"explain {cell}: channel {cell.channel}, row {cell.row}, col {cell.col} of "
        f"{cell.stage} [{shape_text(arrays[cell.stage].shape)}], which reads "
        f"{source} [{shape_text(x.shape)}]"
    )
    result.steps.insert(0, head)
    verdict = (
        "identical, bit for bit"
        if result.identical
        else f"differs by {result.difference():.3g}: this backend adds in another order"
    )
    result.steps.append(f"stored {cell} = {show(stored)}  ({verdict})")
    return result


__all__ = [
    "CellRef",
    "Explanation",
    "Grid",
    "explain",
    "parse_cell",
    "shape_text",
    "show",
    "show_grid",
]
