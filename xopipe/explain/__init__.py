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

from dataclasses import dataclass, field

import numpy as np

from xopipe.errors import UserError
from xopipe.experiment import Experiment
from xopipe.explain.text import shape_text, show, show_grid

EXPLAINED_OPS = ("conv", "pool", "activation", "pad")
FORMAT = "stage:channel:row:col, e.g. conv:0:1:2"


@dataclass(frozen=True)
class CellRef:
    stage: str
    channel: int
    row: int
    col: int

    def __str__(self) -> str:
        return f"{self.stage}[{self.channel}, {self.row}, {self.col}]"

    @property
    def slug(self) -> str:
        return f"{self.stage}_{self.channel}_{self.row}_{self.col}"


@dataclass
class Grid:
    """One small matrix of the explanation (a window, a kernel, the products)."""

    title: str  # a figures.labels.WORDS key: window, kernel, products
    detail: str  # e.g. "channel 0"
    values: np.ndarray  # 2-D; padding cells hold what the op used there (0, -inf, ...)
    padding: np.ndarray  # bool, same shape: the cell lies outside the stage's input


@dataclass
class Explanation:
    cell: CellRef
    op: str
    source: str  # the stage (or `input`) this stage reads
    source_shape: tuple[int, ...]
    value: np.generic  # computed here, in the run's dtype
    stored: np.generic  # what the backend wrote
    steps: list[str]  # the arithmetic, one line each, as printed
    grids: list[Grid] = field(default_factory=list)
    # Where the window sits in the source's channel `source_channel`
    # (row and column indices; outside 0..n-1 means padding).
    source_channel: int = 0
    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    # That channel as the op saw it, padding included: context[0, 0] is at
    # (row, col) = context_origin of the source (negative with top/left padding).
    context: np.ndarray | None = None
    context_origin: tuple[int, int] = (0, 0)
    formula: str = ""  # what is done with the window, in one line

    @property
    def identical(self) -> bool:
        return bool(self.value == self.stored) or (
            bool(np.isnan(self.value)) and bool(np.isnan(self.stored))
        )

    def difference(self) -> float:
        return abs(float(self.value) - float(self.stored))


def parse_cell(text: str, experiment: Experiment) -> CellRef:
    """`stage:channel:row:col`, checked against the stage's output shape."""
    parts = str(text).rsplit(":", 3)
    if len(parts) != 4:
        raise UserError(f"explain must be {FORMAT}, got {text!r}")
    stage, *numbers = parts
    if stage not in experiment.stages:
        names = ", ".join(experiment.pipeline.order)
        raise UserError(f"explain: the stage must be one of {names}, got {stage!r} in {text!r}")
    op = experiment.stages[stage].spec.op
    if op not in EXPLAINED_OPS:
        raise UserError(
            f"explain: stage {stage!r} uses op {op!r}; explain knows {', '.join(EXPLAINED_OPS)}"
        )
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


def explain(cell: CellRef, experiment: Experiment, arrays: dict[str, np.ndarray]) -> Explanation:
    """Compute `cell` again, step by step, from its stage's input in `arrays`."""
    from xopipe.explain.ops import EXPLAINERS

    stage = experiment.stages[cell.stage]
    source = stage.spec.input
    x = arrays[source]
    stored = arrays[cell.stage][cell.channel, cell.row, cell.col]
    result = EXPLAINERS[stage.spec.op](cell, stage.params, x, experiment.dtype)
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
    "EXPLAINED_OPS",
    "CellRef",
    "Explanation",
    "Grid",
    "explain",
    "parse_cell",
    "shape_text",
    "show",
    "show_grid",
]
