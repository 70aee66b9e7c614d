"""Read grids of numbers from a user's files: CSV and .npy (images: xopipe/images.py).

Everything a file can get wrong (missing, empty, ragged, text among the
numbers, NaN/Inf, pickled objects, too large) becomes a one-line UserError
naming the config key and the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xopipe.errors import UserError

CSV_SUFFIXES = (".csv", ".txt")
NPY_SUFFIXES = (".npy",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SUFFIXES = CSV_SUFFIXES + NPY_SUFFIXES + IMAGE_SUFFIXES


@dataclass(frozen=True)
class Limits:
    """What a file may hold before it is refused rather than read."""

    max_bytes: int
    max_cells: int


def existing_file(key: str, path_text: str, suffixes: tuple[str, ...]) -> Path:
    """The file at `path_text`, checked to exist and to have a known suffix."""
    path = Path(path_text).expanduser()
    if path_text in ("", "???"):  # ??? is Hydra's "not set"
        raise UserError(f"{key} is required here: {key}=FILE ({', '.join(suffixes)})")
    if not path.is_file():
        what = "a folder" if path.is_dir() else "no such file"
        raise UserError(f"{key} must name a readable file, got '{path_text}' ({what})")
    if path.suffix.lower() not in suffixes:
        raise UserError(
            f"{key} must be a {', '.join(suffixes)} file, got '{path_text}' "
            f"(unknown suffix '{path.suffix}')"
        )
    return path


def check_size(key: str, path: Path, limits: Limits) -> None:
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{key}: '{path}' is empty")
    if size > limits.max_bytes:
        raise UserError(
            f"{key}: '{path}' is {size:,} bytes, more than limits.max_file_bytes "
            f"({limits.max_bytes:,}); raise the limit to read it"
        )


def check_cells(key: str, path: Path, shape: tuple[int, ...], limits: Limits) -> None:
    cells = int(np.prod(shape))
    if cells > limits.max_cells:
        raise UserError(
            f"{key}: '{path}' holds {cells:,} cells (shape {list(shape)}), more than "
            f"limits.max_input_cells ({limits.max_cells:,}); raise the limit to read it"
        )


def read_csv_grid(key: str, path: Path, limits: Limits) -> np.ndarray:
    """A plain comma-separated grid, no header: one row per line."""
    check_size(key, path, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            grid = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2, encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserError(
            f"{key}: '{path}' must be a CSV grid of numbers, rows of equal length ({error})"
        ) from None
    except ValueError as error:
        # numpy counts a bad value's row from 0 and a ragged row from 1: say it as an editor does
        reason = _csv_problem(path) or str(error).split("; use ")[0].rstrip(".")
        raise UserError(
            f"{key}: '{path}' must be a CSV grid of numbers, rows of equal length ({reason})"
        ) from None
    if grid.size == 0:
        raise UserError(f"{key}: '{path}' holds no numbers")
    check_cells(key, path, grid.shape, limits)
    return grid


def _csv_problem(path: Path) -> str | None:
    """Where a CSV grid np.loadtxt refused first goes wrong, lines and columns counted from 1.

    Read the way np.loadtxt reads it: '#' starts a comment, blank lines are
    skipped. None when this finds nothing wrong (numpy's own reason is used).
    """
    width, first = 0, 0
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            cells = text.split(",")
            for column, cell in enumerate(cells, start=1):
                if not _is_number(cell):
                    return f"line {number}, column {column}: {cell.strip()!r} is not a number"
            if not first:
                width, first = len(cells), number
            elif len(cells) != width:
                return f"line {number} has {len(cells)} values, line {first} has {width}"
    return None


def _is_number(cell: str) -> bool:
    if "_" in cell:  # Python's float() reads 1_000, np.loadtxt does not
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_npy(key: str, path: Path, limits: Limits, chunks: int | None = None) -> np.ndarray:
    """A .npy array of numbers; pickled objects are refused, never loaded. With `chunks`
    (a chunked backend's), a dask array that reads it chunk by chunk through memory maps."""
    check_size(key, path, limits)
    try:
        # Memory-map first: the shape and dtype are checked before any data is read.
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        if "pickle" in str(error).lower() or "python objects" in str(error).lower():
            raise UserError(
                f"{key}: '{path}' holds Python objects (pickled); xopipe reads only "
                "numeric .npy arrays, for safety"
            ) from None
        raise UserError(f"{key}: '{path}' is not a valid .npy file ({error})") from None
    except (OSError, EOFError) as error:
        raise UserError(f"{key}: '{path}' is not a valid .npy file ({error})") from None
    if not isinstance(mapped, np.ndarray):
        raise UserError(f"{key}: '{path}' is not a .npy array")
    if mapped.dtype.kind not in "biuf":
        raise UserError(f"{key}: '{path}' must hold numbers, got an array of dtype {mapped.dtype}")
    check_cells(key, path, mapped.shape, limits)
    if chunks is not None:
        from xopipe.chunked import npy_chunks

        return npy_chunks(path, mapped.shape, chunks)
    return np.array(mapped, dtype=np.float64)
