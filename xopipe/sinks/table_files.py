"""Which table files a run writes (`tables.formats`, `tables.stages`), and writing them.

A 4096x4096 run's CSV text is gigabytes that a user may not want; the
choice is checked before any work and recorded in the manifest, so a
reader of the folder knows what was left out on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xopipe.errors import invalid
from xopipe.sinks.layout import (
    GRADIENTS,
    GRADIENTS_PARQUET,
    WEIGHT_GRADIENTS,
    WEIGHT_GRADIENTS_PARQUET,
)
from xopipe.sinks.tables import write_matrices
from xopipe.sinks.weights import StageWeights, write_weight_tables, write_weights

if TYPE_CHECKING:
    from xopipe.config.schema import TablesConfig
    from xopipe.experiment import Stage
    from xopipe.gradients import Gradients

FORMATS = ("parquet", "csv", "npy")
NPY_DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class TableChoice:
    formats: tuple[str, ...]  # in FORMATS order
    stages: tuple[str, ...]  # the stages whose matrices are written (weights: every stage's)
    npy_dtype: str = "float64"  # of the matrices' and gradients' .npy grids

    def facts(self) -> dict[str, Any]:
        """For the manifest: what was written, so a missing CSV is known to be on purpose."""
        facts: dict[str, Any] = {"formats": list(self.formats), "stages": list(self.stages)}
        if self.npy_dtype != "float64":  # said only where it is not the usual float64
            facts["npy_dtype"] = self.npy_dtype
        return facts


def read_table_choice(
    node: TablesConfig, stage_names: Sequence[str], dtype: str = "float64"
) -> TableChoice:
    """tables.formats, tables.stages and tables.npy_dtype, checked against the pipeline's
    stage names and the run's `dtype` (a float64 run's values are never rounded to fit)."""
    formats = node.formats
    if formats is None:
        formats = []
    if not isinstance(formats, list) or any(f not in FORMATS for f in formats):
        raise invalid("tables.formats", formats, "a list of parquet, csv, npy (or [] for none)")
    stages = node.stages
    if stages is None:
        chosen = tuple(stage_names)
    else:
        if not isinstance(stages, list) or any(s not in stage_names for s in stages):
            raise invalid(
                "tables.stages", stages, f"null (all) or a list of {', '.join(stage_names)}"
            )
        chosen = tuple(name for name in stage_names if name in stages)
    npy_dtype = node.npy_dtype
    if npy_dtype not in NPY_DTYPES or (npy_dtype == "float32" and dtype != "float32"):
        raise invalid(
            "tables.npy_dtype", npy_dtype, "float64, or float32 in a run with dtype=float32"
        )
    return TableChoice(tuple(f for f in FORMATS if f in formats), chosen, npy_dtype)


def write_tables(
    choice: TableChoice,
    out_dir: Path,
    arrays: Mapping[str, np.ndarray],
    stages: Mapping[str, Stage],
) -> list[Path]:
    """Write the chosen formats of the chosen stages' matrices and of every stage's weights."""
    kept = {name: array for name, array in arrays.items() if name in choice.stages}
    return [
        *(
            write_matrices(choice.formats, out_dir, kept, npy_dtype=choice.npy_dtype)
            if kept
            else []
        ),
        *write_weights(choice.formats, out_dir, stages),
    ]


def write_streamed_tables(
    choice: TableChoice,
    out_dir: Path,
    arrays: Mapping[str, Any],
    stages: Mapping[str, Stage],
    compute: Callable[..., tuple[np.ndarray, ...]],
) -> list[Path]:
    """write_tables for a lazy run's arrays (backend=dask): the matrices a band of rows at
    a time as they are computed (sinks/stream_tables.py), the weights as write_tables."""
    from xopipe.sinks.stream_tables import write_streamed_matrices

    kept = {name: array for name, array in arrays.items() if name in choice.stages}
    return [
        *(
            write_streamed_matrices(
                choice.formats, out_dir, kept, compute, npy_dtype=choice.npy_dtype
            )
            if kept
            else []
        ),
        *write_weights(choice.formats, out_dir, stages),
    ]


def write_gradient_tables(choice: TableChoice, out_dir: Path, gradients: Gradients) -> list[Path]:
    """dL/d the chosen stages' matrices and dL/d every weight, as their values are written."""
    kept = {name: array for name, array in gradients.arrays.items() if name in choice.stages}
    weights = {
        name: StageWeights(found.weight, found.bias) for name, found in gradients.weights.items()
    }
    return [
        *(
            write_matrices(
                choice.formats, out_dir, kept, GRADIENTS_PARQUET, GRADIENTS, choice.npy_dtype
            )
            if kept
            else []
        ),
        *write_weight_tables(
            choice.formats, out_dir, weights, WEIGHT_GRADIENTS_PARQUET, WEIGHT_GRADIENTS
        ),
    ]
