"""Whole-program measurements: a sweep, a 4096x4096 run, memory bandwidth (start-up: startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xopipe.run_folder import MANIFEST

SWEEP = ["conv.stride=1,2,3", "pool.size=1,2,3,4,5", "conv.bias=0,1"]  # 30 jobs
QUIET = ["print_matrices=false"]


def median_walls(commands: dict[str, list[str]], repeats: int, cwd: Path) -> dict[str, float]:
    """Median seconds of each command, the commands taking turns.

    Taking turns (a, b, c, a, b, c, ...) spreads this shared VM's slow spells
    over all of them, so their ratios hold even when single timings move by
    a third. Each command first runs once untimed, leaving its bytecode
    cached: a user's second run finds xopipe's modules compiled, as the bare
    import finds hydra's, numpy's and pyarrow's (pip compiles those at
    install; an editable install leaves xopipe's to the first run, and
    PYTHONDONTWRITEBYTECODE would have every run compile them again).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeats + 1):
        for name, command in commands.items():
            begin = time.perf_counter()
            subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)
            if round_:
                times[name].append(time.perf_counter() - begin)
    return {name: float(np.median(values)) for name, values in times.items()}


# The launchers a sweep is timed on: xopipe's (workers on every core, then all in
# the launching process) and Hydra's basic one.
SWEEP_LAUNCHERS = {
    "xopipe": ["hydra/launcher=xopipe"],
    "xopipe, n_jobs=1": ["hydra/launcher=xopipe", "hydra.launcher.n_jobs=1"],
    "basic": ["hydra/launcher=basic"],
}


def sweep(repeats: int) -> dict[str, float]:
    """A 30-job seed sweep (figures off) against one run, on xopipe's and Hydra's launchers,
    and the default sweep against one default run (which draws its figures)."""
    python = sys.executable
    commands = {
        "one run": [python, "-m", "xopipe", "figures=none", *QUIET],
        "one default run (figures on)": [python, "-m", "xopipe", *QUIET],
        "30-job default sweep": [python, "-m", "xopipe", "-m", *SWEEP, *QUIET],
    }
    for name, launcher in SWEEP_LAUNCHERS.items():
        commands[f"30-job sweep, hydra/launcher={name}"] = [
            *[python, "-m", "xopipe", "-m", *SWEEP, "figures=none", *QUIET, *launcher]
        ]
    with tempfile.TemporaryDirectory() as folder:
        return median_walls(commands, max(1, repeats // 2), Path(folder))


def large_run(size: int, figures: bool) -> dict[str, float]:
    """The seed pipeline on a size x size input with tables on: peak memory and time.

    Peak memory is the child's maximum resident set, less that of a 9x9 run
    (the interpreter and its libraries), against the bytes of the arrays the
    run keeps (input and every stage's output).
    """
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        base_rss = _child_peak_rss([python, "-m", "xopipe", "figures=none", *QUIET], cwd)
        run_dir = cwd / "large"
        command = [
            python,
            "-m",
            "xopipe",
            "input=random",
            f"input.shape=[{size},{size}]",
            *QUIET,
            f"hydra.run.dir={run_dir}",
            *([] if figures else ["figures=none"]),
        ]
        begin = time.perf_counter()
        peak = _child_peak_rss(command, cwd)
        seconds = time.perf_counter() - begin
        manifest = json.loads((run_dir / MANIFEST).read_text())
    cells = sum(int(np.prod(stage["shape"])) for stage in manifest["stages"].values())
    kept = cells * np.dtype(manifest["dtype"]).itemsize
    return {
        "seconds": seconds,
        "cells": float(cells),
        "arrays kept (bytes)": float(kept),
        "peak RSS (bytes)": float(peak),
        "peak RSS above a 9x9 run (bytes)": float(peak - base_rss),
        "compute seconds": sum(s.get("seconds", 0.0) for s in manifest["stages"].values()),
    }


def _child_peak_rss(command: list[str], cwd: Path) -> int:
    """Peak resident memory of one child process, in bytes (Linux reports KiB)."""
    code = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *command], cwd=cwd, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip()) * 1024


def table_throughput(size: int) -> dict[str, float]:
    """Cells per second for writing the 4096x4096 seed run's tables (float64 values)."""
    from xopipe.sinks.tables import write_csv_grids, write_parquet

    rng = np.random.default_rng(0)
    conv = size - 2
    arrays = {
        "input": rng.uniform(-1, 1, (1, size, size)),
        "conv": rng.integers(-9, 10, (3, conv, conv)) / 9.0,
        "pool": rng.integers(-9, 10, (3, conv // 2, conv // 2)) / 9.0,
        "activation": np.maximum(rng.integers(-9, 10, (3, conv, conv)) / 9.0, 0),
    }
    cells = sum(a.size for a in arrays.values())
    with tempfile.TemporaryDirectory() as folder:
        begin = time.perf_counter()
        write_parquet(Path(folder) / "m.parquet", arrays)
        parquet = time.perf_counter() - begin
        begin = time.perf_counter()
        write_csv_grids(Path(folder) / "matrices", arrays)
        csv = time.perf_counter() - begin
    return {"cells": float(cells), "parquet cells/s": cells / parquet, "csv cells/s": cells / csv}


def memory_bandwidth() -> float:
    """Bytes per second np.copyto moves between two 256 MiB buffers (read + write)."""
    source = np.ones(1 << 25)  # 256 MiB of float64
    target = np.empty_like(source)
    np.copyto(target, source)
    times = []
    for _ in range(5):
        begin = time.perf_counter()
        np.copyto(target, source)
        times.append(time.perf_counter() - begin)
    return 2 * source.nbytes / float(np.median(times))


def machine() -> dict[str, str]:
    import platform
    from importlib import metadata

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("numpy", "torch", "pyarrow", "hydra-core", "matplotlib"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        **versions,
    }
