"""A difference map as a small PNG image (numpy for the colours, Pillow to encode).

Reports embed these as data: URIs (self-contained HTML; no matplotlib at a
sweep's end). Large grids are reduced by block maxima, so a single
differing cell of a 4096x4096 grid still shows.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# Longest side of the image in cells after reduction.
MAX_SIDE = 256

# White for 0 (agree), then pale yellow through orange to dark red for the largest value.
_STOPS = np.array([[255, 247, 188], [254, 196, 79], [236, 112, 20], [153, 52, 4], [90, 20, 0]])


def reduce_blocks(grid: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Block maxima so that neither side exceeds max_side; NaN counts as infinite."""
    grid = np.where(np.isnan(grid), np.inf, grid)
    factor = max(1, -(-max(grid.shape) // max_side))
    if factor == 1:
        return grid
    rows, cols = grid.shape
    padded = np.zeros((-(-rows // factor) * factor, -(-cols // factor) * factor))
    padded[:rows, :cols] = grid
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    return blocks.max(axis=(1, 3))


def colorize(grid: np.ndarray) -> np.ndarray:
    """[H, W] non-negative values -> [H, W, 3] uint8: 0 white, else yellow..dark red by value."""
    finite = grid[np.isfinite(grid)]
    top = float(finite.max()) if finite.size else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(np.isfinite(grid), grid / top if top > 0 else 1.0, 1.0)
    position = np.clip(scaled, 0.0, 1.0) * (len(_STOPS) - 1)
    low = np.minimum(position.astype(int), len(_STOPS) - 2)
    weight = (position - low)[..., np.newaxis]
    rgb = _STOPS[low] * (1 - weight) + _STOPS[low + 1] * weight
    rgb[grid == 0] = 255
    return np.rint(rgb).astype(np.uint8)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode [H, W, 3] uint8 as an 8-bit RGB PNG."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def heatmap_png(grid: np.ndarray, max_side: int = MAX_SIDE) -> bytes:
    return png_bytes(colorize(reduce_blocks(grid, max_side)))
