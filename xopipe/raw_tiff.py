"""Uncompressed TIFF images read region by region through a memory map, never decoded whole.

Pillow decodes an image whole. An uncompressed TIFF whose strips lie one
after another in the file needs no decoding at all: from the first strip's
offset on, the file's bytes are the pixels, row after row, exactly as a
decode would hand them over. Image.open parses the header only, and its
`tile` list says where each strip starts and how its bytes read (the raw
mode). A chunked backend then maps the file in each chunk's task and copies
that chunk's region, as it does for a .npy input.

Only layouts whose bytes already are the pixels read_pixels would return are
mapped: grey L or 16-bit grey (either byte order) read as grey, RGB read as
rgb, top row first, no resize, no EXIF rotation. Anything else (compressed
strips, tiles, palettes, inverted grey, a colour conversion) is decoded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image

# Pillow's mode (which a strip's raw mode must equal) -> the pixels' dtype and channels.
RAW_MODES = {
    "L": ("u1", 1),
    "I;16": ("<u2", 1),
    "I;16L": ("<u2", 1),
    "I;16B": (">u2", 1),
    "RGB": ("u1", 3),
}
EXIF_ORIENTATION = 0x0112  # 1: stored as shown


@dataclass(frozen=True)
class RawLayout:
    offset: int  # of the first row's first byte
    dtype: str
    shape: tuple[int, int, int]  # [C, H, W], as read_pixels returns the pixels


def raw_layout(image: Image, path: str, color: str, resized: bool) -> RawLayout | None:
    """Where the pixels of the opened (not decoded) `image` lie in its file, if they can
    be read from it as they are; None where they must be decoded."""
    found = RAW_MODES.get(image.mode)
    if image.format != "TIFF" or found is None or resized:
        return None
    if image.getexif().get(EXIF_ORIENTATION, 1) != 1 or (color == "rgb") != (found[1] == 3):
        return None
    dtype, channels = found
    width, height = image.size
    row_bytes = width * channels * np.dtype(dtype).itemsize
    # Pillow's tiles: (codec, (left, top, right, bottom), offset, (raw mode, stride, order))
    tiles = sorted(getattr(image, "tile", ()), key=lambda tile: tile[1][1])
    if not tiles:
        return None
    top, offset = 0, tiles[0][2]
    for codec, (left, first, right, bottom), start, args in tiles:
        rawmode, stride, order = (*args, 0, 1)[:3] if isinstance(args, tuple) else (args, 0, 1)
        laid_out = codec == "raw" and rawmode == image.mode and stride in (0, row_bytes)
        if not laid_out or order != 1 or (left, right, first, start) != (0, width, top, offset):
            return None
        top, offset = bottom, offset + (bottom - first) * row_bytes
    if top != height or os.path.getsize(path) < offset:
        return None
    return RawLayout(tiles[0][2], dtype, (channels, height, width))


class RawRegions:
    """The pixels as dask reads them: each region through a memory map of its own, at the
    pixels' own depth (the chunk is scaled after), the file unmapped after each."""

    def __init__(self, path: str, layout: RawLayout) -> None:
        self.path, self.layout = path, layout
        self.shape = layout.shape
        self.ndim = 3
        self.dtype = np.dtype(layout.dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        channels, height, width = self.shape
        mapped = np.memmap(
            self.path, self.dtype, "r", self.layout.offset, shape=(height, width, channels)
        )
        region = np.array(np.moveaxis(mapped, -1, 0)[key])
        del mapped  # unmapped: the file's pages are not kept
        return region
