"""The pipeline's source image, as a [channels, rows, cols] float array.

For a chunked backend (backend=dask, `chunks` given) a random input and a
.npy file become dask arrays read chunk by chunk, never whole in memory:
random draws come from the same stream as in memory (each row segment
jumps to its own place in it), so the values are the same for a seed. An
image is decoded whole (Pillow decodes PNG and TIFF whole) but kept at its
own depth, a byte or two a pixel; its chunks are scaled to float64 one by one.
An uncompressed TIFF is not decoded: its chunks are read from the file.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from xopipe.chunked import first_nonfinite, image_chunks, random_chunks
from xopipe.errors import UserError, invalid
from xopipe.images import ImageOptions, read_image, read_pixels, scaled
from xopipe.readers import (
    CSV_SUFFIXES,
    IMAGE_SUFFIXES,
    NPY_SUFFIXES,
    SUFFIXES,
    Limits,
    existing_file,
    read_csv_grid,
    read_npy,
)
from xopipe.values import parse_grid

if TYPE_CHECKING:
    from xopipe.config.schema import (
        FileInputConfig,
        InputConfig,
        RandomInputConfig,
        ValuesInputConfig,
    )

GRID = "a grid [H][W] or [C][H][W] of numbers"


def load_input(
    node: InputConfig, dtype: np.dtype, limits: Limits, chunks: int | None = None
) -> np.ndarray:
    """Build the input the `input` config node describes, cast to `dtype`.

    `chunks`: a chunked backend's cells per side; random, .npy and image inputs then
    come back as dask arrays (the others, read whole, are chunked by the backend)."""
    kind = node.kind
    if kind == "values":
        values: ValuesInputConfig = node  # type: ignore[assignment]
        array = parse_grid("input.values", values.values, (2, 3), GRID)
    elif kind == "random":
        array = random_input(node, limits, chunks)  # type: ignore[arg-type]
    elif kind == "file":
        array = file_input(node, limits, chunks)  # type: ignore[arg-type]
    else:
        raise invalid("input.kind", kind, "one of values, random, file")
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.size > limits.max_cells:
        raise UserError(
            f"input has {array.size:,} cells (shape {list(array.shape)}), more than "
            f"limits.max_input_cells ({limits.max_cells:,})"
        )
    return array.astype(dtype)


def random_input(node: RandomInputConfig, limits: Limits, chunks: int | None = None) -> np.ndarray:
    """Uniform [low, high) from default_rng(seed), or low/high pixels; float64 first, so
    float32 runs see the same draws rounded. With `chunks`, the same values drawn chunk
    by chunk (xopipe/chunked.py)."""
    shape = node.shape
    if not (isinstance(shape, list) and len(shape) in (2, 3) and all(s >= 1 for s in shape)):
        raise invalid("input.shape", shape, "[H, W] or [C, H, W] of positive integers")
    if int(np.prod(shape)) > limits.max_cells:
        raise invalid(
            "input.shape", shape, f"at most limits.max_input_cells ({limits.max_cells:,}) cells"
        )
    low, high = float(node.low), float(node.high)
    for key, value in (("input.low", low), ("input.high", high)):
        if not np.isfinite(value):
            raise invalid(key, value, "a finite number")
    if not low < high:
        raise invalid("input.high", high, f"greater than input.low ({low})")
    seed = check_seed("input.seed", node.seed)
    if chunks is not None:
        return random_chunks(shape, seed, low, high, node.pixels, chunks)
    rng = np.random.default_rng(seed)
    if node.pixels:
        return np.where(rng.random(shape) < 0.5, low, high)
    return rng.uniform(low, high, size=shape)


def check_seed(key: str, seed: int) -> int:
    if seed < 0:  # numpy's generators take non-negative seeds only
        raise invalid(key, seed, "an integer >= 0")
    return int(seed)


def file_input(node: FileInputConfig, limits: Limits, chunks: int | None = None) -> np.ndarray:
    options = _image_options(node)  # checked for every file: a typo is a typo
    path = existing_file("input.path", str(node.path), SUFFIXES)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        grid = read_csv_grid("input.path", path, limits)
    elif suffix in NPY_SUFFIXES:
        grid = read_npy("input.path", path, limits, chunks)
        if grid.ndim not in (2, 3):
            raise UserError(
                f"input.path: '{path}' must hold a [H, W] or [C, H, W] array, "
                f"got shape {list(grid.shape)}"
            )
    else:
        assert suffix in IMAGE_SUFFIXES
        if chunks is None:
            return read_image("input.path", path, options, limits)
        pixels = read_pixels("input.path", path, options, limits, mapped=True)
        scale = functools.partial(scaled, full_scale=pixels.full_scale, scale=options.scale)
        return image_chunks(pixels.grid, scale, chunks, path)
    # Pixels are finite by construction; numbers from a file are checked.
    bad = first_nonfinite(grid)
    if bad is not None:
        value = np.asarray(grid[tuple(bad)])[()]
        raise UserError(
            f"input.path: '{path}' must hold finite numbers; got {value} at index {bad}"
        )
    return grid


def _image_options(node: FileInputConfig) -> ImageOptions:
    color, scale = node.color, node.scale
    if color not in ("grey", "rgb"):
        raise invalid("input.color", color, "grey or rgb")
    if scale not in ("signed", "unit"):
        raise invalid("input.scale", scale, "signed (-1..1) or unit (0..1)")
    resize = node.resize
    if resize is not None and not (len(resize) == 2 and all(s >= 1 for s in resize)):
        raise invalid("input.resize", resize, "null or [H, W] of positive integers")
    return ImageOptions(color, None if resize is None else (resize[0], resize[1]), scale)
