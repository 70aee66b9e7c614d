"""python -m xopipe.bench [--quick] [--sizes 9 256 1024 4096] [--repeats 7] [--out FILE]"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from xopipe.bench import system
from xopipe.bench.cases import Case, all_cases
from xopipe.bench.timing import LOOP_MAX_SIZE, conv_extra_memory

IMPLEMENTATIONS = ("torch-ref", "numpy", "torch", "loop")


def _worker(implementation: str, sizes: list[int], repeats: int, threads: int) -> dict[str, float]:
    """Time each case in a fresh process: a case run after a 4096^2 one was seen to
    slow down by half (the allocator's state), whichever library ran it."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)  # every library gets the same number of threads
    results: dict[str, float] = {}
    for index in range(len(all_cases(sizes))):
        command = [
            sys.executable,
            "-m",
            "xopipe.bench.timing",
            implementation,
            str(repeats),
            str(index),
            *map(str, sizes),
        ]
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        results.update(json.loads(out.stdout))
    return results


def _floor_bytes(case: Case) -> int:
    """Bytes a case must at least read and write once."""
    item = np.dtype(case.dtype).itemsize
    out = (case.size - case.kernel_size) // case.stride + 1
    conv_out = case.kernels * out * out
    if case.op == "conv":
        return (case.cells + conv_out) * item
    if case.op == "max_pool":
        return (case.cells + case.cells // 4) * item
    if case.op == "relu":
        return 2 * case.cells * item
    # pipeline: input, conv written then read twice, pool and relu written
    return (case.cells + 3 * conv_out + conv_out // 4 + conv_out) * item


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.3g} ms" if seconds < 10 else f"{seconds:.1f} s"


def kernel_table(
    cases: list[Case], timings: dict[str, dict[str, float]], bandwidth: float
) -> list[str]:
    columns = [
        "case",
        "torch.nn.functional",
        "numpy backend (ratio)",
        "torch backend (ratio)",
        "loop backend (ratio)",
        "memory-traffic floor",
        "numpy / floor",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for case in cases:
        reference = timings["torch-ref"].get(case.name)
        cells = [case.name, _ms(reference)]
        for implementation in ("numpy", "torch", "loop"):
            seconds = timings[implementation].get(case.name)
            ratio = f" ({seconds / reference:.2f})" if seconds and reference else ""
            cells.append(_ms(seconds) + ratio)
        floor = _floor_bytes(case) / bandwidth
        numpy_seconds = timings["numpy"].get(case.name)
        cells += [_ms(floor), f"{numpy_seconds / floor:.1f}x" if numpy_seconds else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xopipe.bench", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[9, 256, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smallest size only, no whole-program runs (CI smoke test)",
    )
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args(argv)
    sizes = [9] if args.quick else sorted(args.sizes)
    repeats = 3 if args.quick else args.repeats
    cases = all_cases(sizes)

    timings = {impl: _worker(impl, sizes, repeats, args.threads) for impl in IMPLEMENTATIONS}
    bandwidth = system.memory_bandwidth()
    report = ["# xopipe benchmarks", ""]
    report += [f"- {key}: {value}" for key, value in system.machine().items()]
    report += [
        f"- threads per library: {args.threads}; medians of {repeats} repeats; "
        f"loop backend up to {LOOP_MAX_SIZE}^2",
        f"- memory bandwidth (np.copyto, read + write): {bandwidth / 1e9:.1f} GB/s",
        "",
        "## Kernels, float32 unless noted (ratio: time / torch.nn.functional)",
        "",
        *kernel_table(cases, timings, bandwidth),
    ]
    conv_sizes = [s for s in sizes if s >= 256]
    if conv_sizes:
        report += ["", "## Memory of conv (NumPy backend, peak extra allocation / output size)", ""]
        for size in conv_sizes:
            extra = conv_extra_memory(Case("", "conv", size))
            report.append(f"- conv {size}^2 K3 k3 float32: {extra:.3f}x the output")
    if not args.quick:
        report += ["", "## Start-up (median wall time of whole processes)", ""]
        start = system.startup(repeats)
        report += [f"- {name}: {_ms(seconds)}" for name, seconds in start.items()]
        bare = start["bare import (hydra, numpy, pyarrow.parquet)"]
        mpl = start["matplotlib.pyplot import (Agg), over bare python"]
        plain = start["seed run, figures=none"] / bare
        report.append(f"- seed run, figures=none / bare import: {plain:.2f} (goal <= 1.5)")
        report.append(
            f"- seed run with figures / (1.5 x bare + matplotlib): "
            f"{start['seed run, figures on'] / (1.5 * bare + mpl):.2f} (goal <= 1.0)"
        )
        report += ["", "## Sweep", ""]
        sweep = system.sweep(repeats)
        report += [f"- {name}: {_ms(seconds)}" for name, seconds in sweep.items()]
        for launcher in system.SWEEP_LAUNCHERS:
            ratio = sweep[f"30-job sweep, hydra/launcher={launcher}"] / sweep["one run"]
            report.append(f"- 30 jobs / one run, {launcher} launcher: {ratio:.2f} (goal <= 2.5)")
        large = max(sizes)
        report += ["", f"## A {large}x{large} input through the seed pipeline, tables on", ""]
        for figures in (False, True):
            run = system.large_run(large, figures)
            label = "figures on" if figures else "figures=none"
            kept, peak = run["arrays kept (bytes)"], run["peak RSS (bytes)"]
            above = run["peak RSS above a 9x9 run (bytes)"]
            report.append(
                f"- {label}: {run['seconds']:.1f} s wall, stages {run['compute seconds']:.2f} s; "
                f"arrays kept {kept / 2**20:.0f} MiB; peak RSS {peak / 2**20:.0f} MiB, "
                f"{above / 2**20:.0f} MiB above a 9x9 run = {above / kept:.2f}x the arrays "
                "(goal <= 1.5)"
            )
        tables = system.table_throughput(large)
        parquet, csv = tables["parquet cells/s"] / 1e6, tables["csv cells/s"] / 1e6
        report.append(
            f"- writing {tables['cells'] / 1e6:.0f} M cells: Parquet {parquet:.1f} M cells/s, "
            f"CSV {csv:.1f} M cells/s"
        )
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
