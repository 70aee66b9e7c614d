"""The benchmark's tables: each implementation's median time, its ratio to a reference, and
how far the ratio moved between rounds."""

from __future__ import annotations

import numpy as np

from xopipe.backends import BACKENDS, FORWARD_ONLY
from xopipe.bench.cases import Case
from xopipe.bench.rounds import STEADY, format_seconds, ratio

# Every registered backend that computes in memory (backend=dask has its own section).
IN_MEMORY = tuple(name for name in BACKENDS if name not in FORWARD_ONLY)


def floor_bytes(case: Case) -> int:
    """Bytes a case must at least read and write once."""
    item = np.dtype(case.dtype).itemsize
    reach = case.dilation * (case.kernel_size - 1) + 1  # input cells a window spans
    out = (case.size - reach) // case.stride + 1
    conv_out = case.kernels * out * out
    if case.op == "conv":
        return (case.cells + conv_out) * item
    if case.op == "max_pool":
        return (case.cells + case.cells // 4) * item
    if case.op == "relu":
        return 2 * case.cells * item
    # pipeline: input, conv written then read twice, pool and relu written
    return (case.cells + 3 * conv_out + conv_out // 4 + conv_out) * item


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _timed_cells(
    case: Case,
    times: dict[str, dict[str, list[float]]],
    reference: str,
    others: tuple[str, ...],
    ratios: bool = True,
) -> tuple[list[str], list[str]]:
    """Each implementation's median time with its ratio to the reference (median,
    lowest-highest over the rounds), and the implementations whose ratio moved.
    `ratios=False`: the times alone."""
    cells, moved = [], []
    for implementation in others:
        seconds = _median(times[implementation][case.name])
        found = ratio(times[implementation][case.name], times[reference][case.name])
        found = found if ratios else None
        cells.append(format_seconds(seconds) + (f" ({found.text()})" if found else ""))
        if found and found.moved > STEADY:
            moved.append(f"{implementation} {found.moved:.0%}")
    return cells, moved


def _steady(moved: list[str]) -> str:
    return "yes" if not moved else "**no**: " + ", ".join(moved)


def ratio_table(
    cases: list[Case],
    times: dict[str, dict[str, list[float]]],
    reference: str,
    label: str,
    implementations: tuple[str, ...],
    ratios: bool = True,
) -> list[str]:
    """A row per case: the reference's median time (column `label`), then each backend's with
    its ratio to the reference (median, lowest-highest over the rounds) and whether the ratios
    held steady; `ratios=False` (--quick): the times alone."""
    columns = ["case", label, *(f"{name} backend" for name in implementations)]
    if ratios:
        columns = [*columns[:2], *(f"{c} (ratio)" for c in columns[2:]), "ratios steady"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for case in cases:
        cells, moved = _timed_cells(case, times, reference, implementations, ratios)
        row = [case.name, format_seconds(_median(times[reference][case.name])), *cells]
        if ratios:
            row.append(_steady(moved))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def kernel_table(
    cases: list[Case],
    times: dict[str, dict[str, list[float]]],
    bandwidth: float,
    ratios: bool = True,
) -> list[str]:
    """The CPU table; `ratios=False` (--quick): times only, no ratio and no floor columns."""
    backends = [f"{name} backend" for name in IN_MEMORY]  # every in-memory one
    columns = ["case", "torch.nn.functional"]
    if ratios:
        columns += [f"{name} (ratio)" for name in backends]
        columns += ["memory-traffic floor", "numpy / floor", "ratios steady"]
    else:
        columns += backends
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for case in cases:
        reference = _median(times["torch-ref"][case.name])
        cells, moved = _timed_cells(case, times, "torch-ref", IN_MEMORY, ratios)
        row = [case.name, format_seconds(reference), *cells]
        if ratios:
            floor = floor_bytes(case) / bandwidth
            numpy_seconds = _median(times["numpy"][case.name])
            numpy_floor = f"{numpy_seconds / floor:.1f}x" if numpy_seconds else "-"
            row += [format_seconds(floor), numpy_floor, _steady(moved)]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def gpu_table(
    cases: list[Case], times: dict[str, dict[str, list[float]]], bandwidth: float
) -> list[str]:
    columns = [
        "case",
        "torch, resident",
        "torch backend, resident (ratio)",
        "torch backend, NumPy in and out (ratio)",
        "memory-traffic floor",
        "resident / floor",
        "backend / floor",
        "ratios steady",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for case in cases:
        reference = _median(times["cuda-ref"][case.name])
        cells, moved = _timed_cells(case, times, "cuda-ref", ("cuda", "cuda-host"))
        floor = floor_bytes(case) / bandwidth
        backend = _median(times["cuda"][case.name])
        over = [f"{s / floor:.1f}x" if s else "-" for s in (reference, backend)]
        row = [
            case.name,
            format_seconds(reference),
            *cells,
            format_seconds(floor),
            *over,
            _steady(moved),
        ]
        lines.append("| " + " | ".join(row) + " |")
    return lines
