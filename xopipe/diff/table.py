"""diff.csv: one row per compared pair of runs, table, stage and channel.

The first nine columns are the contract (DESIGN.md): run_a, run_b, stage,
channel, shape_a, shape_b, max_abs_diff, mismatched_cells, ok. After them:
table (which of the runs' tables the grid is from: `matrices`, the values;
with a loss also `gradients`, dL/d them, and `weight_gradients`, dL/d each
stored weight, whose grids are named as their CSV files are: stage `conv_1`
channel 0 is weight_gradients/conv_1_0.csv, stage `conv_bias` the biases;
for training runs `weights`, their final weights named the same way, head
`head_<class>`, and `history`, stages `<split>_loss` and `<split>_accuracy`
whose col is the epoch), max_rel_diff, cells, atol, rtol, dtype_a, dtype_b,
backend_a, backend_b, the single worst cell (worst_row, worst_col, worst_a,
worst_b), group (the overrides the pair shares) and note.

Shapes are the channel's grid, `HxW`; empty when the grid is missing from a
run. When shapes differ no cell is compared: max_abs_diff, max_rel_diff and
mismatched_cells are empty and ok is false. A pair that could not be compared
because a run failed has one row with empty stage and channel and the reason
in `note`; a run with no partner (comparing two sweeps) has one row with the
other side empty. Numbers are written in their shortest round-trip form, so
max_abs_diff reads back exactly; ok is `true` or `false`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from xopipe.diff.comparison import Comparison, GridRow, Pair
from xopipe.sinks.files import write_text

COLUMNS = [
    "run_a",
    "run_b",
    "stage",
    "channel",
    "shape_a",
    "shape_b",
    "max_abs_diff",
    "mismatched_cells",
    "ok",
    "table",
    "max_rel_diff",
    "cells",
    "atol",
    "rtol",
    "dtype_a",
    "dtype_b",
    "backend_a",
    "backend_b",
    "worst_row",
    "worst_col",
    "worst_a",
    "worst_b",
    "group",
    "note",
]


def write_diff_csv(path: Path, comparison: Comparison) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(_rows(comparison))
    write_text(path, buffer.getvalue())


def _rows(comparison: Comparison) -> Iterator[dict[str, str]]:
    for pair in comparison.pairs:
        if not pair.compared:
            yield _pair_fields(pair) | {"ok": _text(pair.ok), "note": pair.failure or ""}
            continue
        for row in pair.rows:
            yield _pair_fields(pair) | _grid_fields(row)
    for source, job in comparison.unmatched:
        side = "a" if source == comparison.sources[0] else "b"
        yield {
            f"run_{side}": _text(job.name),
            f"dtype_{side}": _text(job.dtype),
            f"backend_{side}": _text(job.backend),
            "ok": "false",
            "group": job.label(),
            "note": f"no run with the same overrides in {_other(comparison, source)}",
        }


def _other(comparison: Comparison, source: str) -> str:
    first, second = comparison.sources
    return second if source == first else first


def _pair_fields(pair: Pair) -> dict[str, str]:
    return {
        "run_a": pair.a.name,
        "run_b": pair.b.name,
        "atol": _text(pair.tolerance.atol),
        "rtol": _text(pair.tolerance.rtol),
        "dtype_a": _text(pair.a.dtype),
        "dtype_b": _text(pair.b.dtype),
        "backend_a": _text(pair.a.backend),
        "backend_b": _text(pair.b.backend),
        "group": pair.group,
    }


def _grid_fields(row: GridRow) -> dict[str, str]:
    diff = row.diff
    worst = diff.worst[0] if diff.worst else None
    return {
        "table": row.table,
        "stage": row.stage,
        "channel": str(row.channel),
        "shape_a": shape_text(diff.shape_a),
        "shape_b": shape_text(diff.shape_b),
        "max_abs_diff": _text(diff.max_abs_diff),
        "mismatched_cells": _text(diff.mismatched_cells),
        "ok": _text(diff.ok),
        "max_rel_diff": _text(diff.max_rel_diff),
        "cells": _text(diff.cells),
        "worst_row": _text(worst and worst.row),
        "worst_col": _text(worst and worst.col),
        "worst_a": _text(worst and worst.a),
        "worst_b": _text(worst and worst.b),
    }


def shape_text(shape: tuple[int, ...] | None) -> str:
    return "" if shape is None else "x".join(str(n) for n in shape)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
