"""summary.parquet of a training sweep: every job's final weights and scores in one table.

Columns, in order: `job`, `run`, `status`, `error` (as a run sweep's summary),
the final scores `train_loss`, `train_accuracy`, `test_loss`, `test_accuracy`
(float64, from the job's manifest: the same numbers as the last epoch of its
history.parquet; null for a failed job), one column per swept key (typed as in
a run sweep's summary), then the final weights as weights.parquet holds them:
`stage`, `param`, `kernel`, `channel`, `row`, `col`, `value` (the head is stage
`head`, kernel = class, col = feature).

A complete job contributes one row per weight and bias; a failed job one row
with its error and null scores and weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from xopipe.multirun.summary import JOB_FIELDS, Constant, column_name, job_constants
from xopipe.private_api.arrow_kernels import call_function, cast_options
from xopipe.run_folder import Job
from xopipe.sinks.arrow_columns import constant_column
from xopipe.sinks.files import atomic_path
from xopipe.sinks.weights import SCHEMA as WEIGHTS_SCHEMA

SPLITS = ("train", "test")
SCORES = ("loss", "accuracy")
SCORE_FIELDS = [pa.field(f"{split}_{score}", pa.float64()) for split in SPLITS for score in SCORES]
RESERVED = {f.name for f in (*JOB_FIELDS, *SCORE_FIELDS)} | set(WEIGHTS_SCHEMA.names)


def is_training_sweep(jobs: Sequence[Job]) -> bool:
    """Whether the jobs are training runs (their manifests say so; a failed job's too)."""
    return any(job.kind == "training" for job in jobs)


def write_training_summary(path: Path, jobs: Sequence[Job]) -> None:
    keys, key_columns = job_constants(jobs)
    fields = [*JOB_FIELDS, *SCORE_FIELDS]
    for key, (_, arrow_type) in zip(keys, key_columns, strict=True):
        fields.append(pa.field(column_name(key, RESERVED), arrow_type))
    schema = pa.schema([*fields, *WEIGHTS_SCHEMA])
    with atomic_path(path) as temporary, pq.ParquetWriter(temporary, schema) as writer:
        for index, job in enumerate(jobs):
            constants = [(values[index], arrow_type) for values, arrow_type in key_columns]
            if not job.complete:
                cells = [pa.nulls(1, field.type) for field in WEIGHTS_SCHEMA]
                columns = _job_columns(job, job.error, constants, 1)
                writer.write_batch(pa.RecordBatch.from_arrays([*columns, *cells], schema=schema))
                continue
            weights = pq.read_table(job.tables["weights"])
            cells = [
                call_function("cast", [weights.column(name)], cast_options(field.type))
                for name, field in zip(WEIGHTS_SCHEMA.names, WEIGHTS_SCHEMA, strict=True)
            ]
            columns = _job_columns(job, None, constants, weights.num_rows)
            writer.write_table(pa.Table.from_arrays([*columns, *cells], schema=schema))


def _job_columns(job: Job, error: str | None, constants: list[Constant], n: int) -> list[pa.Array]:
    scores = job.scores if job.complete else {}
    return [
        constant_column(job.num, pa.int32(), n),
        constant_column(job.name, pa.string(), n),
        constant_column(job.status, pa.string(), n),
        constant_column(error, pa.string(), n),
        *(
            constant_column(_score(scores, split, score), pa.float64(), n)
            for split in SPLITS
            for score in SCORES
        ),
        *(constant_column(value, arrow_type, n) for value, arrow_type in constants),
    ]


def _score(scores: dict[str, dict[str, float]], split: str, score: str) -> float | None:
    value = scores.get(split, {}).get(score)
    return float(value) if isinstance(value, (int, float)) else None
