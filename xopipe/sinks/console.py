"""Print each stage's matrices rounded to 2 decimals, as the seed does."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from xopipe.sinks.layout import saved_in

if TYPE_CHECKING:
    from xopipe.gradients import Gradients

# Beyond this many cells a grid is summarized (corners and "...") rather than dumped.
FULL_PRINT_CELLS = 400
# Beyond this many channels only the first ones are printed.
MAX_CHANNELS = 8


EDGE = 3  # rows and cols shown at each end of a summarized grid

Compute = Callable[..., tuple[np.ndarray, ...]]  # a lazy backend's arrays -> NumPy


def format_grid(grid: np.ndarray, threshold: int = FULL_PRINT_CELLS) -> str:
    rounded = np.round(grid, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    return np.array2string(
        rounded,
        precision=2,
        floatmode="fixed",
        suppress_small=True,
        threshold=threshold,
        edgeitems=EDGE,
        max_line_width=120,
    )


def _edges(n: int) -> list[int]:
    """The indices a summary shows along an axis of n, one filler (never shown) between."""
    if n <= 2 * EDGE:
        return list(range(n))
    return [*range(EDGE), 0, *range(n - EDGE, n)]


def lazy_grids(array: Any, channels: int, compute: Compute) -> tuple[np.ndarray, int]:
    """The first channels of a lazy array as printed, and the threshold to print them with.

    A grid numpy would summarize is computed at its edges only (the corner chunks),
    with a filler row and col between that numpy's summary hides: the same text.
    """
    _, rows, cols = array.shape
    if rows * cols <= FULL_PRINT_CELLS:
        return compute(array[:channels])[0], FULL_PRINT_CELLS
    corners = array[:channels][:, _edges(rows)][:, :, _edges(cols)]
    return compute(corners)[0], 0


def print_results(
    arrays: Mapping[str, np.ndarray],
    seconds: Mapping[str, float],
    stream: TextIO | None = None,
    saved: Callable[[str], str] = lambda stage: "every value is in the tables",
    compute: Compute | None = None,
) -> None:
    """`saved(stage)` says where a stage's values are (the channels not printed) in a clause.

    `compute`: a lazy backend's, for arrays that are not NumPy (only what is printed is
    computed)."""
    stream = stream or sys.stdout
    for name, array in arrays.items():
        shape = "x".join(str(n) for n in array.shape)
        timing = f", {seconds[name] * 1e3:.2f} ms" if name in seconds else ""
        print(f"{name} [{shape}]{timing}", file=stream)
        shown, threshold = array, FULL_PRINT_CELLS
        if compute is not None and not isinstance(array, np.ndarray):
            shown, threshold = lazy_grids(array, min(array.shape[0], MAX_CHANNELS), compute)
        for channel in range(min(array.shape[0], MAX_CHANNELS)):
            if array.shape[0] > 1:
                print(f"  channel {channel}:", file=stream)
            print(format_grid(shown[channel], threshold), file=stream)
        if array.shape[0] > MAX_CHANNELS:
            more = array.shape[0] - MAX_CHANNELS
            print(f"  ... {more} more channels; {saved(name)}", file=stream)
        print(file=stream)


def print_gradients(gradients: Gradients, stream: TextIO, tables: Mapping[str, Any]) -> None:
    """The loss, then dL/d every stage's output and the input, each grid rounded as above."""
    loss = gradients.loss
    print(f"loss = {gradients.value!r} ({loss.kind} of {', '.join(loss.stages)})", file=stream)
    print(file=stream)
    print_results(
        {f"dL/d{name}": array for name, array in reversed(gradients.arrays.items())},
        {f"dL/d{name}": seconds for name, seconds in gradients.seconds.items()},
        stream,
        saved=lambda label: saved_in(tables, label.removeprefix("dL/d"), gradients=True),
    )
