"""What an op's explainer returns: one cell's arithmetic as text lines and small grids.

Each op recomputes a cell from its stage's input as the loop backend does and
fills an Explanation; xopipe.explain puts the head and the verdict around it,
figures/ draws it and the explorer page writes the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np


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
    # How a figure lays the grids out: a row of this many per input channel (0: one
    # row for all), each on its own colour scale (weights are not values of the map)
    # or on the map's.
    grids_per_channel: int = 0
    grids_own_scale: bool = False
    elementwise: bool = False  # one value in, one out: no indices, small panels

    @property
    def identical(self) -> bool:
        return bool(self.value == self.stored) or (
            bool(np.isnan(self.value)) and bool(np.isnan(self.stored))
        )

    def difference(self) -> float:
        return abs(float(self.value) - float(self.stored))


def cell_value(cell: Any) -> np.generic:
    """One cell of an array as a NumPy scalar; a lazy run's (backend=dask) computed from its
    chunk alone."""
    return cast(np.generic, np.asarray(cell)[()])


def as_context(plane: Any) -> Any:
    """The map a figure shows around the window: a NumPy copy; a lazy run's (backend=dask)
    stays lazy, and the figure computes only its crop."""
    return np.array(plane) if isinstance(plane, np.ndarray) else plane


def blank(cell: CellRef, dtype: np.dtype) -> Explanation:
    """An explanation to fill in: no steps yet, value and stored at zero."""
    zero = dtype.type(0)
    return Explanation(cell, "", "", (), zero, zero, [])
