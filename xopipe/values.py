"""Turn nested lists from a config (or a file) into checked float arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from xopipe.errors import UserError, invalid


def parse_grid(key: str, values: Any, ranks: tuple[int, ...], what: str) -> np.ndarray:
    """Nested lists of numbers -> float64 array of one of `ranks`, all finite.

    `what` describes the expected layout for the error message, e.g.
    "a grid [H][W] or [C][H][W] of numbers".
    """
    if isinstance(values, str) or not isinstance(values, (list, tuple, np.ndarray)):
        raise invalid(key, values, what)
    try:
        array = np.array(values, dtype=np.float64)
    except (ValueError, TypeError):
        # numpy says "inhomogeneous shape" for ragged rows and "could not
        # convert" for text; both mean the same thing to the user.
        raise UserError(
            f"{key} must be {what} with rows of equal length, all numbers; got {_preview(values)}"
        ) from None
    if array.ndim not in ranks:
        raise UserError(
            f"{key} must be {what}; got {array.ndim} nesting levels, shape {list(array.shape)}"
        )
    if array.size == 0:
        raise UserError(f"{key} must be {what}, not empty; got shape {list(array.shape)}")
    if not np.isfinite(array).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise UserError(f"{key} must hold finite numbers; got {array[bad]} at index {list(bad)}")
    return array


def _preview(values: Any, limit: int = 60) -> str:
    text = str(values)
    return text if len(text) <= limit else text[: limit - 3] + "..."
