"""Read PNG/JPEG/TIFF images at their own bit depth, scaled by their own range.

Pillow hands an image over in one of its modes. The 8-bit ones (1, L, P, LA,
RGB, RGBA, CMYK, ...) are converted to L or RGB and scaled from 0..255; the
16-bit grey ones (I;16 and its byte orders) are read as they are and scaled
from 0..65535. Modes with no fixed range (I, F) and colour images Pillow can
only decode at 8 bits (16-bit RGB, RGBA, LA PNGs) are refused in one line:
reading them through L or RGB would clip or truncate every pixel silently.

The pixels stay at their own depth (uint8, uint16) until they are scaled:
read_image scales them whole; a chunked backend scales them chunk by chunk
(chunked.image_chunks), so the float64 image never exists whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xopipe.errors import UserError
from xopipe.raw_tiff import RawRegions, raw_layout
from xopipe.readers import Limits, check_cells, check_size

if TYPE_CHECKING:
    from PIL.Image import Image

EIGHT_BIT_FULL_SCALE = 255.0
SIXTEEN_BIT_FULL_SCALE = 65535.0
SIXTEEN_BIT_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
NO_FIXED_RANGE_MODES = {"I": "32-bit integer", "F": "32-bit float"}
# Raw modes of 16 bits a channel ("RGB;16B", "LA;16B", "RGBA;16L"); BMP's "BGR;16" is
# 16 bits a pixel (5-6-5), which Pillow widens to 8 bits a channel without loss.
_SIXTEEN_BIT_CHANNELS = re.compile(r";16[BLN]$")
BAND_ROWS = 256  # rows copied out of Pillow at a time


@dataclass(frozen=True)
class ImageOptions:
    color: str  # grey | rgb
    resize: tuple[int, int] | None  # (H, W)
    scale: str  # signed: full range -> -1..1 | unit: full range -> 0..1


@dataclass(frozen=True)
class Pixels:
    """An image's pixels as Pillow hands them over, and the value of full brightness."""

    # [C, H, W] uint8 or uint16 (16-bit grey as rgb: a view of one channel); or, read
    # `mapped`, an uncompressed TIFF's pixels still in its file (raw_tiff.py)
    grid: np.ndarray | RawRegions
    full_scale: float


def read_image(key: str, path: Path, options: ImageOptions, limits: Limits) -> np.ndarray:
    """PNG/JPEG/TIFF as [1, H, W] (grey) or [3, H, W] (rgb), scaled from the image's own range."""
    pixels = read_pixels(key, path, options, limits)
    assert isinstance(pixels.grid, np.ndarray)  # decoded: read_pixels maps only when asked
    return scaled(pixels.grid, pixels.full_scale, options.scale)


def scaled(grid: np.ndarray, full_scale: float, scale: str) -> np.ndarray:
    """Pixels (or a block of them) as float64: full_scale -> 1, zero -> 0 (unit) or -1."""
    values = grid.astype(np.float64)
    if scale == "unit":
        return values / full_scale
    return values / (full_scale / 2) - 1.0


def read_pixels(
    key: str, path: Path, options: ImageOptions, limits: Limits, mapped: bool = False
) -> Pixels:
    """The image's pixels at their own depth: a byte a channel, two for 16-bit grey.
    `mapped`: an uncompressed TIFF's are left in the file, read region by region."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    check_size(key, path, limits)
    # limits.max_input_cells is checked on the header below, before decoding; Pillow's
    # own bomb check would first print a two-line warning (or refuse in its own words).
    pillow_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with Image.open(path) as image:
            # The header gives the size: refuse huge images before decoding them.
            check_cells(key, path, (3 if options.color == "rgb" else 1, *image.size[::-1]), limits)
            _check_depth(key, path, image)
            resized = options.resize is not None
            layout = raw_layout(image, str(path), options.color, resized) if mapped else None
            if layout is not None:
                sixteen = image.mode in SIXTEEN_BIT_GREY_MODES
                full = SIXTEEN_BIT_FULL_SCALE if sixteen else EIGHT_BIT_FULL_SCALE
                return Pixels(RawRegions(str(path.resolve()), layout), full)
            # Phone photos store their rotation; in place, so no second copy is held.
            ImageOps.exif_transpose(image, in_place=True)
            pixels, full_scale = _decoded(image, options)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise UserError(
            f"{key}: '{path}' is not a readable PNG/JPEG/TIFF image ({error})"
        ) from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    grid = pixels[np.newaxis] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0)
    if options.color == "rgb" and grid.shape[0] == 1:
        # 16-bit grey read as rgb: three equal channels, one held
        grid = np.broadcast_to(grid, (3, *grid.shape[1:]))
    return Pixels(grid, full_scale)


def _check_depth(key: str, path: Path, image: Image) -> None:
    """Refuse what L or RGB would read wrongly, before any pixel is decoded."""
    if image.mode in NO_FIXED_RANGE_MODES:
        raise UserError(
            f"{key}: '{path}' holds {NO_FIXED_RANGE_MODES[image.mode]} pixels (mode "
            f"{image.mode}), which have no fixed range to scale from; save it as an 8- or "
            "16-bit PNG, or as .npy to read the numbers as they are"
        )
    tiles = getattr(image, "tile", ())  # what the decoder will be asked for; none once decoded
    if image.mode not in SIXTEEN_BIT_GREY_MODES and any(
        _SIXTEEN_BIT_CHANNELS.search(_raw_mode(tile.args)) for tile in tiles
    ):
        raise UserError(
            f"{key}: '{path}' is a 16-bit {image.mode} image, which can be decoded only at "
            "8 bits a channel here; save it as a 16-bit grey PNG, or as a [C, H, W] .npy, "
            "to keep its depth"
        )


def _raw_mode(args: object) -> str:
    """The raw mode in a Pillow tile's decoder arguments (a string, or a tuple's first item)."""
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return ""


def _decoded(image: Image, options: ImageOptions) -> tuple[np.ndarray, float]:
    """The pixels at their depth ([H, W] or [H, W, 3]) and the value of full brightness."""
    from PIL import Image as PillowImage

    target = "RGB" if options.color == "rgb" else "L"
    if image.mode in SIXTEEN_BIT_GREY_MODES:
        converted, full_scale = image, SIXTEEN_BIT_FULL_SCALE  # resized at 16 bits too
    else:
        # convert copies even to the same mode: an image already L or RGB is kept as it is
        converted = image if image.mode == target else image.convert(target)
        full_scale = EIGHT_BIT_FULL_SCALE
    if options.resize is not None:
        height, width = options.resize
        converted = converted.resize((width, height), PillowImage.Resampling.BILINEAR)
    return _pixel_array(converted), full_scale


def _pixel_array(image: Image) -> np.ndarray:
    """The image's pixels as one array, copied a band of rows at a time: np.asarray of the
    whole image would hold them twice more on the way (tobytes' pieces, then their join)."""
    width, height = image.size
    bands = [(top, min(height, top + BAND_ROWS)) for top in range(0, height, BAND_ROWS)]
    out: np.ndarray | None = None
    for top, bottom in bands:
        band = np.asarray(image.crop((0, top, width, bottom)))
        if out is None:
            out = np.empty((height, *band.shape[1:]), band.dtype)
        out[top:bottom] = band
    assert out is not None  # an image has at least one row
    return out
