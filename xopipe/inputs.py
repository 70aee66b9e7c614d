"""The pipeline's source image, as a [channels, rows, cols] float array."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from xopipe.errors import invalid
from xopipe.values import parse_grid, to_plain

GRID = "a grid [H][W] or [C][H][W] of numbers"


def load_input(node: Mapping[str, Any], dtype: np.dtype) -> np.ndarray:
    """Build the input the `input` config node describes, cast to `dtype`."""
    kind = node["kind"]
    if kind == "values":
        array = parse_grid("input.values", node["values"], (2, 3), GRID)
    elif kind == "random":
        array = random_input(node)
    else:
        raise invalid("input.kind", kind, "one of values, random")
    if array.ndim == 2:
        array = array[np.newaxis]
    return array.astype(dtype)


def random_input(node: Mapping[str, Any]) -> np.ndarray:
    """Uniform [low, high) from default_rng(seed), or low/high pixels; float64 first, so
    float32 runs see the same draws rounded."""
    shape = to_plain(node["shape"])
    if not (isinstance(shape, list) and len(shape) in (2, 3) and all(s >= 1 for s in shape)):
        raise invalid("input.shape", shape, "[H, W] or [C, H, W] of positive integers")
    low, high = float(node["low"]), float(node["high"])
    if not low < high:
        raise invalid("input.high", high, f"greater than input.low ({low})")
    rng = np.random.default_rng(int(node["seed"]))
    if node["pixels"]:
        return np.where(rng.random(shape) < 0.5, low, high)
    return rng.uniform(low, high, size=shape)
