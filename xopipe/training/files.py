"""A training folder's tables: the data, the history, the weights by epoch, the predictions.

History, weights by epoch and the checkpoint are rewritten after every
epoch (each atomically), so an interrupted run keeps the epochs it finished
and `resume=true` continues from the last one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

from xopipe.sinks.files import atomic_path
from xopipe.sinks.weights import SCHEMA as WEIGHTS_SCHEMA
from xopipe.sinks.weights import StageWeights, read_weights_parquet, write_weights_parquet
from xopipe.training.data import Dataset
from xopipe.training.model import HEAD, Parameters, stage_weights
from xopipe.training.trainer import Epoch

DATA = "data.parquet"
HISTORY = "history.parquet"
WEIGHTS_HISTORY = "weights_history.parquet"
WEIGHTS = "weights.parquet"
PREDICTIONS = "predictions.parquet"
CHECKPOINT = "checkpoint.npz"

HISTORY_SCHEMA = pa.schema(
    [
        ("epoch", pa.int32()),
        ("split", pa.string()),
        ("loss", pa.float64()),
        ("accuracy", pa.float64()),
    ]
)
WEIGHTS_HISTORY_SCHEMA = WEIGHTS_SCHEMA.append(pa.field("epoch", pa.int32()))


def _write(path: Path, table: pa.Table) -> Path:
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)
    return path


def write_data(folder: Path, data: Dataset) -> Path:
    """Every image, one row per pixel: index, split, label (the class name), row, col, value."""
    count, _, height, width = data.images.shape
    index = np.repeat(np.arange(count, dtype=np.int32), height * width)
    rows = np.tile(np.repeat(np.arange(height, dtype=np.int32), width), count)
    cols = np.tile(np.arange(width, dtype=np.int32), count * height)
    labels = np.array(data.classes)[data.labels]
    table = pa.table(
        {
            "index": index,
            "split": np.repeat(data.splits, height * width),
            "label": np.repeat(labels, height * width),
            "row": rows,
            "col": cols,
            "value": data.images.reshape(-1).astype(np.float64),
        }
    )
    return _write(folder / DATA, table)


def write_history(folder: Path, epochs: Sequence[Epoch]) -> Path:
    rows = [(e.number, split, *e.scores[split]) for e in epochs for split in e.scores]
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(values, type=field.type)
        for values, field in zip(columns, HISTORY_SCHEMA, strict=True)
    ]
    return _write(folder / HISTORY, pa.Table.from_arrays(arrays, schema=HISTORY_SCHEMA))


def write_weights_history(folder: Path, epochs: Sequence[Epoch]) -> Path:
    """The schema of weights.parquet plus `epoch`; the head is stage `head` (kernel = class)."""
    tables = []
    for epoch in epochs:
        path = folder / f".epoch-{epoch.number}.parquet"
        write_weights_parquet(path, _as_stage_weights(epoch.params))
        table = pq.read_table(path)
        path.unlink()
        numbers = pa.array(np.full(table.num_rows, epoch.number, dtype=np.int32))
        tables.append(table.append_column("epoch", numbers))
    return _write(folder / WEIGHTS_HISTORY, pa.concat_tables(tables))


def write_final_weights(folder: Path, params: Parameters) -> Path:
    write_weights_parquet(folder / WEIGHTS, _as_stage_weights(params))
    return folder / WEIGHTS


def write_predictions(folder: Path, data: Dataset, probabilities: np.ndarray) -> Path:
    """Every test image: index, label, predicted, then one probability column per class."""
    chosen = np.flatnonzero(data.splits == "test")
    classes = np.array(data.classes)
    columns = {
        "index": chosen.astype(np.int32),
        "label": classes[data.labels[chosen]],
        "predicted": classes[probabilities.argmax(axis=1)],
    }
    for number, name in enumerate(data.classes):
        columns[name] = probabilities[:, number].astype(np.float64)
    return _write(folder / PREDICTIONS, pa.table(columns))


def write_checkpoint(folder: Path, epoch: Epoch) -> Path:
    """The last finished epoch's weights and momentum, bit for bit, for resume=true."""
    arrays = {f"param/{k}": v for k, v in epoch.params.items()}
    arrays |= {f"buffer/{k}": v for k, v in epoch.buffers.items()}
    with atomic_path(folder / CHECKPOINT) as temporary, temporary.open("wb") as file:
        savez: Any = np.savez  # typed for its keyword options, not for named arrays
        savez(file, epoch=np.array(epoch.number), **arrays)
    return folder / CHECKPOINT


def read_checkpoint(folder: Path) -> tuple[int, Parameters, Parameters] | None:
    path = folder / CHECKPOINT
    if not path.is_file():
        return None
    with np.load(path) as saved:
        params = {k.split("/", 1)[1]: saved[k] for k in saved.files if k.startswith("param/")}
        buffers = {k.split("/", 1)[1]: saved[k] for k in saved.files if k.startswith("buffer/")}
        return int(saved["epoch"]), params, buffers


def read_epochs(folder: Path, dtype: np.dtype) -> list[Epoch]:
    """The epochs an earlier, unfinished run wrote (scores and weights), for resume=true."""
    history = pq.read_table(folder / HISTORY).to_pydict()
    scores: dict[int, dict[str, tuple[float, float]]] = {}
    for number, split, loss, accuracy in zip(*history.values(), strict=True):
        scores.setdefault(number, {})[split] = (loss, accuracy)
    table = pq.read_table(folder / WEIGHTS_HISTORY)
    epochs = []
    for number in sorted(scores):
        rows = table.filter(pa.compute.equal(table["epoch"], number)).drop_columns(["epoch"])
        path = folder / f".epoch-{number}.parquet"
        pq.write_table(rows, path)
        stored = read_weights_parquet(path)
        path.unlink()
        params: Parameters = {}
        for name, found in stored.items():
            weight = found.weight[:, 0, 0, :] if name == HEAD else found.weight
            params[f"{name}.weight"] = weight.astype(dtype)
            params[f"{name}.bias"] = found.bias.astype(dtype)
        epochs.append(Epoch(number, params, {}, scores[number]))
    return epochs


def _as_stage_weights(params: Parameters) -> dict[str, StageWeights]:
    return {
        name: StageWeights(weight.astype(np.float64), bias.astype(np.float64))
        for name, (weight, bias) in stage_weights(params).items()
    }
