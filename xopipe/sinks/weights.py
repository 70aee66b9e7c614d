"""Every weight and bias a run's stages used: weights.parquet, weights/*.csv, weights/*.npy.

A run must be reproducible from its folder alone, so the kernels are saved
as the stages applied them (flipped with conv.flip=true, in the run's dtype,
2-D kernels already spread over the input's channels), widened exactly to
float64 like the matrices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xopipe.sinks.arrow_columns import numeric_column, repeated_string
from xopipe.sinks.csv_grid import write_csv_grid
from xopipe.sinks.files import atomic_path, save_npy
from xopipe.sinks.layout import (
    WEIGHTS,
    WEIGHTS_PARQUET,
    bias_csv_name,
    weight_csv_name,
    weight_npy_name,
)

if TYPE_CHECKING:
    from xopipe.experiment import Stage

SCHEMA = pa.schema(
    [
        ("stage", pa.string()),
        ("param", pa.string()),  # weight | bias
        ("kernel", pa.int32()),
        ("channel", pa.int32()),
        ("row", pa.int32()),
        ("col", pa.int32()),
        ("value", pa.float64()),
    ]
)


@dataclass(frozen=True)
class StageWeights:
    weight: np.ndarray  # [K, C, kh, kw] float64, as applied
    bias: np.ndarray  # [K] float64


def stage_weights(stages: Mapping[str, Stage]) -> dict[str, StageWeights]:
    """{stage name: its weights} for every stage whose op holds weights, in order."""
    found = {}
    for name, stage in stages.items():
        weights = stage.op.weights(stage.params)
        if weights is not None:
            found[name] = StageWeights(
                weights.weight.astype(np.float64), weights.bias.astype(np.float64)
            )
    return found


def write_weights(formats: Sequence[str], out_dir: Path, stages: Mapping[str, Stage]) -> list[Path]:
    """The weights of every stage that holds some, in each of `formats`; the paths written."""
    return write_weight_tables(formats, out_dir, stage_weights(stages))


def write_weight_tables(
    formats: Sequence[str],
    out_dir: Path,
    weights: Mapping[str, StageWeights],
    parquet_name: str = WEIGHTS_PARQUET,
    folder: str = WEIGHTS,
) -> list[Path]:
    """`weights` in each of `formats`, named as weights.parquet and weights/ by default
    (weight_gradients.parquet and weight_gradients/ for dL/d them); the paths written."""
    written: list[Path] = []
    if not weights:
        return written
    if "parquet" in formats:
        write_weights_parquet(out_dir / parquet_name, weights)
        written.append(out_dir / parquet_name)
    if "csv" in formats:
        written.extend(write_weights_csv(out_dir / folder, weights))
    if "npy" in formats:
        written.extend(write_weights_npy(out_dir / folder, weights))
    return written


def write_weights_parquet(path: Path, weights: Mapping[str, StageWeights]) -> None:
    """One row per weight and per bias; bias rows have channel = row = col = 0."""
    with atomic_path(path) as temporary, pq.ParquetWriter(temporary, SCHEMA) as writer:
        for batch in _batches(weights):
            writer.write_batch(batch)


def _batches(weights: Mapping[str, StageWeights]) -> Iterator[pa.RecordBatch]:
    for stage, found in weights.items():
        k, c, h, w = np.indices(found.weight.shape, dtype=np.int32).reshape(4, -1)
        yield _batch(stage, "weight", k, c, h, w, found.weight.ravel())
        count = found.bias.size
        zeros = np.zeros(count, dtype=np.int32)
        kernels = np.arange(count, dtype=np.int32)
        yield _batch(stage, "bias", kernels, zeros, zeros, zeros, found.bias)


def _batch(stage: str, param: str, *columns: np.ndarray) -> pa.RecordBatch:
    n = columns[0].size
    return pa.RecordBatch.from_arrays(
        [repeated_string(stage, n), repeated_string(param, n), *map(numeric_column, columns)],
        schema=SCHEMA,
    )


def write_weights_csv(folder: Path, weights: Mapping[str, StageWeights]) -> list[Path]:
    """weights/<stage>_<kernel>_<channel>.csv (each grid) and weights/<stage>_bias.csv (one row)."""
    folder.mkdir(exist_ok=True)
    paths = []
    for stage, found in weights.items():
        for kernel in range(found.weight.shape[0]):
            for channel in range(found.weight.shape[1]):
                path = folder / weight_csv_name(stage, kernel, channel)
                write_csv_grid(path, found.weight[kernel, channel])
                paths.append(path)
        path = folder / bias_csv_name(stage)
        write_csv_grid(path, found.bias[np.newaxis])
        paths.append(path)
    return paths


def write_weights_npy(folder: Path, weights: Mapping[str, StageWeights]) -> list[Path]:
    """weights/<stage>_weight.npy ([K, C, kh, kw]) and weights/<stage>_bias.npy ([K])."""
    folder.mkdir(exist_ok=True)
    paths = []
    for stage, found in weights.items():
        for param, array in (("weight", found.weight), ("bias", found.bias)):
            path = folder / weight_npy_name(stage, param)
            save_npy(path, array)
            paths.append(path)
    return paths


def read_weights_parquet(path: Path) -> dict[str, StageWeights]:
    """Rebuild {stage: weights} from a weights.parquet file."""
    table = pq.read_table(path)
    columns = {name: table.column(name).to_numpy(zero_copy_only=False) for name in SCHEMA.names}
    found = {}
    for stage in dict.fromkeys(columns["stage"].tolist()):
        rows = columns["stage"] == stage
        weight_rows = rows & (columns["param"] == "weight")
        bias_rows = rows & (columns["param"] == "bias")
        index = [columns[name][weight_rows] for name in ("kernel", "channel", "row", "col")]
        weight = np.full([int(i.max()) + 1 for i in index], np.nan)
        weight[tuple(index)] = columns["value"][weight_rows]
        bias = np.full(int(columns["kernel"][bias_rows].max()) + 1, np.nan)
        bias[columns["kernel"][bias_rows]] = columns["value"][bias_rows]
        found[stage] = StageWeights(weight, bias)
    return found
