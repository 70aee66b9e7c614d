"""Where one input cell goes: the output cells that read it, for the gradient's explanation.

The backward pass sends dL/d each output cell back to the input cells it
read. Explaining one input cell's gradient runs that the other way round:
which output cells read this cell, and with what local derivative (a
weight, 1 for a copy, 1/n for a mean, 1 or 0 for a max, f'(x)). Each op
lists its routes with this module's index arithmetic, one axis at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xopipe.geometry import source_index
from xopipe.ops.text import show


@dataclass(frozen=True)
class Route:
    """One output cell that reads the input cell, and how."""

    out: tuple[int, int, int]  # channel, row, col of the op's output
    local: float  # d out / d the input cell, through this route (0: read, but not a winner)
    why: str  # how `out` reads the cell, in one line
    # conv with normalize=mean: d out / d cell = local / divisor, taken in that order
    # (dL/d out / divisor, then × the weight), as the backward pass computes it
    divisor: float | None = None

    def times(self, upstream: Any) -> Any:
        """dL/d out × this route's local derivative, in upstream's dtype."""
        kind = type(upstream)
        if self.divisor is None:
            return kind(upstream * self.local)
        return kind(kind(upstream / kind(self.divisor)) * self.local)

    def factor_text(self) -> str:
        """What dL/d out is multiplied by, as written in the explanation."""
        divided = "" if self.divisor is None else f"/ {self.divisor:g} "
        return f"{divided}× {show(self.local)}"


def padded_positions(index: int, size: int, before: int, after: int, mode: str) -> list[int]:
    """Positions of a padded axis (0 .. before + size + after - 1) that hold input `index`.

    One for zeros; reflect, replicate and circular padding may copy an edge
    cell to several positions.
    """
    return [
        position
        for position in range(before + size + after)
        if source_index(position - before, size, mode) == index
    ]


def windows_at(
    position: int, size: int, stride: int, dilation: int, count: int
) -> list[tuple[int, int]]:
    """(output index, tap) pairs whose window (output * stride + tap * dilation) covers
    `position` of the (padded) axis, for `count` outputs and windows of `size` taps."""
    found = []
    for tap in range(size):
        start = position - tap * dilation
        if start >= 0 and start % stride == 0 and start // stride < count:
            found.append((start // stride, tap))
    return sorted(found)
