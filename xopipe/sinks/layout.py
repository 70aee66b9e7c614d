"""Where a run's tables live in its folder, and saying so in words.

Every file name of the matrices and weights is made here (the run folder's own
files, xopipe/run_folder.py), so the writers, the console and the report name
the same places.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xopipe.run_folder import GRADIENTS_PARQUET, MATRICES_PARQUET, WEIGHT_GRADIENTS_PARQUET

MATRICES = "matrices"  # the stages' CSV grids and .npy arrays
WEIGHTS = "weights"  # the weights' CSV grids and .npy arrays
WEIGHTS_PARQUET = "weights.parquet"
# dL/d the same values, with a loss (loss=sum | mse): the same schemas and file names
# (their Parquet files are named in xopipe/run_folder.py, with matrices.parquet)
GRADIENTS = "gradients"
WEIGHT_GRADIENTS = "weight_gradients"


def matrix_csv_name(stage: str, channel: int | str) -> str:
    return f"{stage}_{channel}.csv"


def matrix_npy_name(stage: str) -> str:
    return f"{stage}.npy"


def weight_csv_name(stage: str, kernel: int | str, channel: int | str) -> str:
    return f"{stage}_{kernel}_{channel}.csv"


def bias_csv_name(stage: str) -> str:
    return f"{stage}_bias.csv"


def weight_npy_name(stage: str, param: str) -> str:
    """param: weight ([K, C, kh, kw]) or bias ([K])."""
    return f"{stage}_{param}.npy"


def saved_where(
    tables: Mapping[str, Any] | None, stage: str, weights: bool = False, gradients: bool = False
) -> tuple[list[str], str | None]:
    """The files that hold a stage's matrices (or weights; or dL/d either with `gradients`),
    from the manifest's `tables`; none, and why: "formats" (tables.formats is empty) or
    "stages" (it leaves the stage out)."""
    if tables is None:
        tables = {"formats": ["parquet", "csv"], "stages": [stage]}
    formats = tables.get("formats", [])
    if not weights and stage not in tables.get("stages", []):
        return [], "stages"
    if weights:
        parquet, folder = (
            (WEIGHT_GRADIENTS_PARQUET, WEIGHT_GRADIENTS)
            if gradients
            else (
                WEIGHTS_PARQUET,
                WEIGHTS,
            )
        )
        where = {
            "parquet": parquet,
            "csv": f"{folder}/{weight_csv_name(stage, '<kernel>', '<channel>')}",
            "npy": f"{folder}/{weight_npy_name(stage, 'weight')}",
        }
    else:
        parquet, folder = (
            (GRADIENTS_PARQUET, GRADIENTS)
            if gradients
            else (
                MATRICES_PARQUET,
                MATRICES,
            )
        )
        where = {
            "parquet": parquet,
            "csv": f"{folder}/{matrix_csv_name(stage, '<channel>')}",
            "npy": f"{folder}/{matrix_npy_name(stage)}",
        }
    places = [where[kind] for kind in formats]
    return places, None if places else "formats"


def saved_in(
    tables: Mapping[str, Any] | None, stage: str, weights: bool = False, gradients: bool = False
) -> str:
    """Where a stage's matrices (or weights, or their gradients) are on disk, as an English
    clause (the console's)."""
    places, why = saved_where(tables, stage, weights, gradients)
    if why == "stages":
        return f"not saved on disk (tables.stages leaves {stage} out)"
    if why == "formats":
        return "not saved on disk (tables.formats is empty)"
    return "every value is in " + " and ".join(places)
