"""summary.parquet: every job's matrices in one table, with the job and its swept keys.

Columns, in order: `job` (int32, Hydra's job number), `run` (the job's folder
relative to the sweep), `status` (complete | failed), `error` (null unless
failed), one column per swept key (an override whose value is not the same
in every job; typed int64, float64 or bool when every value is one, else
string, null where a job lacks it), then the cells as in matrices.parquet:
`stage`, `channel`, `row`, `col`, `value`.

When a job ran with a loss (loss=sum | mse), four columns join: `loss_value`
(L, float64, null for a job without one) after `error`, `table` before
`stage`, and `param`, `kernel` after it, as weights.parquet has them. `table`
says what a row holds: `matrices` a cell's value, `gradients` dL/d it (its
gradients.parquet, dL/d `input` included), `weight_gradients` dL/d a weight
or bias (its weight_gradients.parquet; `param` and `kernel` are null on the
other rows). A sweep without a loss writes the table it always did, byte for
byte.

A complete job contributes one row per cell (and per gradient). A failed job
contributes one row with its error and null cell columns, so
`status == "failed"` finds it.
The table is written job by job, batch by batch: a sweep of 4096x4096 runs
never holds more than one batch of one job in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from xopipe.private_api.arrow_kernels import call_function, cast_options
from xopipe.run_folder import Job
from xopipe.sinks.arrow_columns import constant_column
from xopipe.sinks.files import atomic_path
from xopipe.sinks.tables import BATCH_ROWS, SCHEMA
from xopipe.sinks.weights import SCHEMA as WEIGHTS_SCHEMA

JOB_FIELDS = [
    pa.field("job", pa.int32()),
    pa.field("run", pa.string()),
    pa.field("status", pa.string()),
    pa.field("error", pa.string()),
]
LOSS_FIELD = pa.field("loss_value", pa.float64())
TABLE_FIELD = pa.field("table", pa.string())
# The tables of a job the summary carries, in this order; a sweep without a loss, the first.
CELL_TABLES = ("matrices", "gradients", "weight_gradients")
# With a loss, the rows' own columns: the cells' and the weights' (weights.parquet's order).
GRADIENT_SCHEMA = pa.schema([WEIGHTS_SCHEMA.field(name) for name in WEIGHTS_SCHEMA.names])
RESERVED = {f.name for f in (*JOB_FIELDS, LOSS_FIELD, TABLE_FIELD)} | set(GRADIENT_SCHEMA.names)


def swept_keys(jobs: Sequence[Job]) -> list[str]:
    """Override keys whose value differs between jobs, in the order they first appear."""
    values = [job.values() for job in jobs]
    keys = dict.fromkeys(key for job_values in values for key in job_values)
    return [key for key in keys if len({v.get(key) for v in values}) > 1]


def column_name(key: str, reserved: set[str] = RESERVED) -> str:
    """A swept key's column: the key itself, unless a fixed column has that name."""
    return f"{key}_override" if key in reserved else key


def job_constants(jobs: Sequence[Job]) -> tuple[list[str], list[tuple[list[object], pa.DataType]]]:
    """The swept keys, and for each its value in every job with the column's Arrow type."""
    keys = swept_keys(jobs)
    return keys, [_typed_values(jobs, key) for key in keys]


def write_summary(path: Path, jobs: Sequence[Job]) -> None:
    keys, typed = job_constants(jobs)
    key_columns = dict(zip(keys, typed, strict=True))
    # Only a sweep with gradients gets their columns: one without stays as it was.
    gradients = any("gradients" in job.tables for job in jobs if job.complete)
    fields = [*JOB_FIELDS, LOSS_FIELD] if gradients else [*JOB_FIELDS]
    for key, (_, arrow_type) in key_columns.items():
        fields.append(pa.field(column_name(key), arrow_type))
    # A failed job's row has no cell: null there.
    rows = GRADIENT_SCHEMA if gradients else pa.schema([f.with_nullable(True) for f in SCHEMA])
    schema = pa.schema([*fields, *([TABLE_FIELD] if gradients else []), *rows])
    # Dictionary pages for every column but the values: random doubles never repeat, and
    # trying to dictionary-encode them costs a fifth of the time of a large summary.
    dictionary = [name for name in schema.names if name != "value"]
    with (
        atomic_path(path) as temporary,
        pq.ParquetWriter(temporary, schema, use_dictionary=dictionary) as writer,
    ):
        for index, job in enumerate(jobs):
            constants = [(values[index], arrow_type) for values, arrow_type in key_columns.values()]
            if not job.complete:
                writer.write_batch(_failed_row(job, constants, schema))
                continue
            for table in CELL_TABLES if gradients else CELL_TABLES[:1]:
                source = job.tables.get(table)
                if source is None:
                    continue
                # No pre-buffering: it would hold the job's whole file in memory.
                cells = pq.ParquetFile(source, pre_buffer=False, buffer_size=1 << 20)
                for batch in cells.iter_batches(batch_size=BATCH_ROWS):
                    writer.write_batch(_with_job(batch, job, table, constants, schema, rows))


Constant = tuple[object, pa.DataType]


def _job_columns(
    job: Job, error: str | None, constants: list[Constant], n: int, schema: pa.Schema
) -> list[pa.Array]:
    loss = (
        [constant_column(job.loss_value, pa.float64(), n)]
        if LOSS_FIELD.name in schema.names
        else []
    )
    return [
        constant_column(job.num, pa.int32(), n),
        constant_column(job.name, pa.string(), n),
        constant_column(job.status, pa.string(), n),
        constant_column(error, pa.string(), n),
        *loss,
        *(constant_column(value, arrow_type, n) for value, arrow_type in constants),
    ]


def _table_column(table: str | None, n: int, schema: pa.Schema) -> list[pa.Array]:
    return [constant_column(table, pa.string(), n)] if TABLE_FIELD.name in schema.names else []


def _with_job(
    batch: pa.RecordBatch,
    job: Job,
    table: str,
    constants: list[Constant],
    schema: pa.Schema,
    rows: pa.Schema,
) -> pa.RecordBatch:
    # A cell has no param or kernel: null there (a weight's row has every column).
    cells = [
        call_function("cast", [batch.column(field.name)], cast_options(field.type))
        if field.name in batch.schema.names
        else pa.nulls(batch.num_rows, field.type)
        for field in rows
    ]
    columns = _job_columns(job, None, constants, batch.num_rows, schema)
    marked = _table_column(table, batch.num_rows, schema)
    return pa.RecordBatch.from_arrays([*columns, *marked, *cells], schema=schema)


def _failed_row(job: Job, constants: list[Constant], schema: pa.Schema) -> pa.RecordBatch:
    cells = [pa.nulls(1, field.type) for field in schema if field.name in GRADIENT_SCHEMA.names]
    columns = _job_columns(job, job.error, constants, 1, schema)
    return pa.RecordBatch.from_arrays(
        [*columns, *_table_column(None, 1, schema), *cells], schema=schema
    )


def _typed_values(jobs: Sequence[Job], key: str) -> tuple[list[object], pa.DataType]:
    """The key's value in each job: int64, float64 or bool if all values are, else strings."""
    texts = [job.values().get(key) for job in jobs]
    present = [text for text in texts if text is not None and text != "null"]
    for convert, arrow_type in ((_to_bool, pa.bool_()), (int, pa.int64()), (float, pa.float64())):
        try:
            converted = {text: convert(text) for text in present}
        except ValueError:
            continue
        return [converted.get(text) for text in texts], arrow_type  # type: ignore[arg-type]
    return list(texts), pa.string()


def _to_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(text)
    return lowered == "true"
