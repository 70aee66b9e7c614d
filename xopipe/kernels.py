"""Kernel sets: the weights a conv stage slides over its input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from xopipe.errors import UserError, invalid
from xopipe.inputs import check_seed
from xopipe.readers import (
    CSV_SUFFIXES,
    NPY_SUFFIXES,
    Limits,
    existing_file,
    read_csv_grid,
    read_npy,
)
from xopipe.values import parse_grid

if TYPE_CHECKING:
    from xopipe.config.schema import KernelsConfig, RandomKernelsConfig

LAYOUT = "a list of 2-D kernels [K][kh][kw] or [K][C][kh][kw]"


@dataclass(frozen=True)
class KernelSet:
    weight: np.ndarray  # [K, C, kh, kw], float64
    names: tuple[str, ...]  # one label per kernel


def load_kernels(node: KernelsConfig, key: str, limits: Limits) -> KernelSet:
    """The kernels the typed config node at `key` describes."""
    kind = node.kind
    if kind == "values":
        weight = parse_grid(f"{key}.values", node.values, (2, 3, 4), LAYOUT)  # type: ignore[attr-defined]
    elif kind == "random":
        weight = _random_weights(node, key)  # type: ignore[arg-type]
    elif kind == "file":
        weight = _read_file(f"{key}.path", str(node.path), limits)  # type: ignore[attr-defined]
    else:
        raise invalid(f"{key}.kind", kind, "one of values, random, file")
    weight = _as_4d(weight)
    return KernelSet(weight, _names(getattr(node, "names", None), key, weight.shape[0]))


def _random_weights(node: RandomKernelsConfig, key: str) -> np.ndarray:
    shape = node.shape
    if not (isinstance(shape, list) and len(shape) in (3, 4) and all(s >= 1 for s in shape)):
        raise invalid(f"{key}.shape", shape, "[K, kh, kw] or [K, C, kh, kw] of positive integers")
    low, high = float(node.low), float(node.high)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise invalid(f"{key}.high", high, f"a finite number above {key}.low ({low})")
    rng = np.random.default_rng(check_seed(f"{key}.seed", node.seed))
    return rng.uniform(low, high, size=shape)


def _read_file(key: str, path_text: str, limits: Limits) -> np.ndarray:
    path = existing_file(key, path_text, CSV_SUFFIXES + NPY_SUFFIXES)
    if path.suffix.lower() in CSV_SUFFIXES:
        grid = read_csv_grid(key, path, limits)
    else:
        grid = read_npy(key, path, limits)
    if grid.ndim not in (2, 3, 4):
        raise UserError(
            f"{key}: '{path}' must hold [kh, kw], [K, kh, kw] or [K, C, kh, kw] kernels, "
            f"got shape {list(grid.shape)} (rank {grid.ndim})"
        )
    if not np.isfinite(grid).all():
        raise UserError(f"{key}: '{path}' must hold finite numbers")
    return grid


def _as_4d(grid: np.ndarray) -> np.ndarray:
    if grid.ndim == 2:  # one kernel
        return grid[np.newaxis, np.newaxis]
    if grid.ndim == 3:  # K single-channel kernels
        return grid[:, np.newaxis]
    return grid


def _names(names: list[str] | None, key: str, count: int) -> tuple[str, ...]:
    if names is None:
        return tuple(f"kernel {k}" for k in range(count))
    if len(names) != count:
        raise UserError(f"{key}.names must have one name per kernel ({count}), got {names}")
    return tuple(str(n) for n in names)
