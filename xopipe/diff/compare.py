"""Two grids, cell by cell: do they agree within tolerance, and if not, where not.

A pair of grids agrees when the shapes are equal and |a - b| <= atol + rtol * |b|
in every cell (b is the second run). Equal cells always agree (so do two
NaNs, or two infinities of the same sign); a NaN or an infinity against
anything else never does. The work is done in row blocks, so comparing two
4096x4096 grids needs a few block-sized temporaries, not several full copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Defaults when diff.atol / diff.rtol are null, by the dtype the runs computed in.
DEFAULT_TOLERANCE = {"float64": 1e-9, "float32": 1e-5}

# Cells per block of rows: bounds the temporaries of one comparison.
BLOCK_CELLS = 1 << 20

WORST_CELLS = 5


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float

    @classmethod
    def for_dtypes(
        cls, dtypes: tuple[str | None, ...], atol: float | None = None, rtol: float | None = None
    ) -> Tolerance:
        """The configured tolerance, or the loosest default among the dtypes compared."""
        loosest = max(DEFAULT_TOLERANCE.values())
        default = max(DEFAULT_TOLERANCE.get(d or "float64", loosest) for d in dtypes)
        return cls(default if atol is None else atol, default if rtol is None else rtol)


@dataclass(frozen=True)
class Cell:
    """One cell of a compared grid: where it is, both values, how far apart."""

    row: int
    col: int
    a: float
    b: float
    abs_diff: float


@dataclass
class GridDiff:
    """How two grids (one stage, one channel) compare.

    A grid missing from one run has shape None; when the shapes differ, no cell
    is compared and max_abs_diff, max_rel_diff and mismatched_cells are None.
    """

    shape_a: tuple[int, ...] | None
    shape_b: tuple[int, ...] | None
    ok: bool
    cells: int = 0
    mismatched_cells: int | None = None
    max_abs_diff: float | None = None
    max_rel_diff: float | None = None
    worst: list[Cell] = field(default_factory=list)  # largest |a - b| first
    # b - a when every cell differs by that same amount (within tolerance) and beyond it:
    # the whole grid moved (a bias, an offset), which a heatmap shows as one solid colour.
    shift: float | None = None


def compare_grids(
    a: np.ndarray | None, b: np.ndarray | None, tolerance: Tolerance, worst: int = WORST_CELLS
) -> GridDiff:
    """Compare two 2-D grids; `worst` cells with the largest |a - b| are kept."""
    shape_a = None if a is None else tuple(a.shape)
    shape_b = None if b is None else tuple(b.shape)
    if a is None or b is None or shape_a != shape_b:
        return GridDiff(shape_a, shape_b, ok=False)
    rows, cols = a.shape
    rows_per_block = max(1, BLOCK_CELLS // max(cols, 1))
    mismatched = 0
    max_abs = 0.0
    max_rel = 0.0
    candidates: list[tuple[float, int, float, float]] = []  # (-diff, flat index, a, b)
    low, high = np.inf, -np.inf  # of b - a
    for top in range(0, rows, rows_per_block):
        block_a = a[top : top + rows_per_block]
        block_b = b[top : top + rows_per_block]
        diff, beyond = _block_diff(block_a, block_b, tolerance)
        if diff.size == 0:
            continue
        mismatched += int(np.count_nonzero(beyond))
        with np.errstate(invalid="ignore", over="ignore"):
            signed = block_b - block_a
        # np.minimum and np.maximum carry a NaN through, so it is never taken for a shift
        low, high = float(np.minimum(low, signed.min())), float(np.maximum(high, signed.max()))
        max_abs = max(max_abs, float(diff.max()))
        max_rel = max(max_rel, _max_relative(diff, block_b))
        candidates.extend(_largest(diff, block_a, block_b, worst, offset=top * cols))
        candidates = sorted(candidates)[:worst]
    cells = [
        Cell(index // cols, index % cols, value_a, value_b, -negative)
        for negative, index, value_a, value_b in candidates
        if negative < 0
    ]
    return GridDiff(
        shape_a,
        shape_b,
        ok=mismatched == 0,
        cells=rows * cols,
        mismatched_cells=mismatched,
        max_abs_diff=max_abs,
        max_rel_diff=max_rel,
        worst=cells,
        shift=_shift(low, high, mismatched, rows * cols, tolerance),
    )


def _shift(
    low: float, high: float, mismatched: int, cells: int, tolerance: Tolerance
) -> float | None:
    """The one amount every cell moved by, or None (NaN or infinite differences never are)."""
    if mismatched < cells or cells < 2 or not (np.isfinite(low) and np.isfinite(high)):
        return None
    if high - low > tolerance.atol + tolerance.rtol * max(abs(low), abs(high)):
        return None
    return (low + high) / 2


def beyond_tolerance(a: np.ndarray, b: np.ndarray, tolerance: Tolerance) -> np.ndarray:
    """|a - b| where a cell is beyond tolerance, 0 where it agrees (for heatmaps)."""
    diff, beyond = _block_diff(a, b, tolerance)
    return np.where(beyond, diff, 0.0)


def _block_diff(
    a: np.ndarray, b: np.ndarray, tolerance: Tolerance
) -> tuple[np.ndarray, np.ndarray]:
    """|a - b| per cell (0 where equal, inf where only one side is NaN) and the mismatch mask."""
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - b)
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        diff[same] = 0.0
        diff[np.isnan(diff)] = np.inf
        within = diff <= tolerance.atol + tolerance.rtol * np.abs(b)
    # An infinity is only ever close to itself, however large the bound.
    within &= np.isfinite(a) & np.isfinite(b)
    return diff, ~(same | within)


def _max_relative(diff: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / |b| over cells that differ; a difference from 0 is infinitely relative."""
    differs = diff > 0
    if not differs.any():
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = diff[differs] / np.abs(b[differs])
    relative[np.isnan(relative)] = np.inf
    return float(relative.max())


def _largest(
    diff: np.ndarray, a: np.ndarray, b: np.ndarray, k: int, offset: int
) -> list[tuple[float, int, float, float]]:
    """The k cells with the largest diff, as (-diff, flat index, a, b)."""
    flat = diff.ravel()
    if k <= 0 or flat.size == 0:
        return []
    if flat.size > k:
        # The k largest, ties broken by position, so the same grids give the same cells.
        kth = np.partition(flat, flat.size - k)[flat.size - k]
        above = np.flatnonzero(flat > kth)
        top = np.concatenate([above, np.flatnonzero(flat == kth)[: k - above.size]])
    else:
        top = np.arange(flat.size)
    a_flat, b_flat = a.ravel(), b.ravel()
    return [(-float(flat[i]), offset + int(i), float(a_flat[i]), float(b_flat[i])) for i in top]
