"""A large run at the disk's pace: whole xopipe runs against plain processes writing as much.

Five whole processes take turns, round after round (the order rotates):

- xopipe's seed pipeline on a random SIZE x SIZE float32 input, tables.formats=[parquet],
  figures=none;
- its floor: a plain process that makes float32 arrays of the run's sizes (the input
  1xN^2, conv and activation 3x(N-2)^2, pool 3x((N-2)//2)^2) and np.saves each as
  float64, as the run widens them;
- the same run with tables.formats=[csv];
- its floor: a plain process writing the same arrays' shortest round-trip text, one
  file per stage and channel, with Arrow's kernels on every core (the fastest honest
  way found to make those bytes; FLOOR_CSV's write_grid makes exactly xopipe's text);
- the Parquet run on backend=dask (the dask issue's Parquet goal is this one's: its
  chunks streamed into one file, against the same np.save floor).

Each ratio is xopipe over its floor, per round: the median, lowest-highest.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xopipe.bench.rounds import STEADY, format_seconds, ratio
from xopipe.bench.system import QUIET

DEFAULT_SIZE = 4096

# The arrays of a seed run on a size x size input, made as a float32 run keeps them.
_ARRAYS = """
import sys
from pathlib import Path

import numpy as np


def arrays(size):
    rng = np.random.default_rng(0)
    inner = size - 2
    shapes = {
        "input": (1, size, size),
        "conv": (3, inner, inner),
        "pool": (3, inner // 2, inner // 2),
        "activation": (3, inner, inner),
    }
    return {name: rng.random(shape, dtype=np.float32) for name, shape in shapes.items()}
"""

FLOOR_NPY = (
    _ARRAYS
    + """

if __name__ == "__main__":
    folder = Path(sys.argv[2])
    for name, array in arrays(int(sys.argv[1])).items():
        np.save(folder / f"{name}.npy", array.astype(np.float64))
"""
)

FLOOR_CSV = (
    _ARRAYS
    + """
import os
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

BLOCK_CELLS = 1 << 18


def column(values):
    # from buffers: pa.array() would import pandas
    kind = pa.int32() if values.dtype == np.int32 else pa.float64()
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def text(value, n=1):
    # n copies of a string, from buffers (pa.scalar() would import pandas too)
    offsets = np.arange(n + 1, dtype=np.int32) * len(value)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(value * n)]
    )


COMMA, NEWLINE = text(b",")[0], text(b"\\n")[0]


def join(values, length, count, separator):
    offsets = np.arange(0, length * count + 1, length, dtype=np.int32)
    return pc.binary_join(pa.ListArray.from_arrays(column(offsets), values), separator)


def block_text(rows):
    count, cols = rows.shape
    cells = pc.cast(column(rows.astype(np.float64).ravel()), pa.string())
    lines = pa.concat_arrays([join(cells, cols, count, COMMA), text(b"")])
    return join(lines, count + 1, 1, NEWLINE)[0].as_buffer()


def write_grid(path, grid, pool):
    per_block = max(1, BLOCK_CELLS // grid.shape[1])
    blocks = [grid[top : top + per_block] for top in range(0, grid.shape[0], per_block)]
    with open(path, "wb") as stream:
        for text in pool.map(block_text, blocks):
            stream.write(text)


if __name__ == "__main__":
    folder = Path(sys.argv[2])
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        for name, array in arrays(int(sys.argv[1])).items():
            for channel, grid in enumerate(array):
                write_grid(folder / f"{name}_{channel}.csv", grid, pool)
"""
)

PROCESSES = (
    "xopipe, tables.formats=[parquet]",
    "floor: np.save float64",
    "xopipe, tables.formats=[csv]",
    "floor: shortest round-trip text",
    "xopipe backend=dask, tables.formats=[parquet]",
)
RATIOS = (
    ("parquet run / np.save floor", 0, 1, "goal <= 1.5"),
    ("csv run / text floor", 2, 3, ""),
    ("dask parquet run / np.save floor", 4, 1, "goal <= 1.5"),
)


def commands(size: int, folder: Path) -> dict[str, list[str]]:
    """Each process's command line, writing under `folder`."""
    python = sys.executable
    run = [
        python,
        "-m",
        "xopipe",
        "input=random",
        f"input.shape=[{size},{size}]",
        "dtype=float32",
        "figures=none",
        *QUIET,
        f"hydra.run.dir={folder}",
    ]
    return {
        PROCESSES[0]: [*run, "tables.formats=[parquet]"],
        PROCESSES[1]: [python, "-c", FLOOR_NPY, str(size), str(folder)],
        PROCESSES[2]: [*run, "tables.formats=[csv]"],
        PROCESSES[3]: [python, "-c", FLOOR_CSV, str(size), str(folder)],
        PROCESSES[4]: [*run, "backend=dask", "tables.formats=[parquet]"],
    }


def time_rounds(size: int, rounds: int) -> dict[str, list[float]]:
    """process -> its wall seconds in each round; each runs into an empty folder, removed after."""
    times: dict[str, list[float]] = {name: [] for name in PROCESSES}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "out"
        lines = commands(size, folder)
        for round_ in range(rounds):
            shift = round_ % len(PROCESSES)
            for name in PROCESSES[shift:] + PROCESSES[:shift]:
                folder.mkdir()
                begin = time.perf_counter()
                subprocess.run(lines[name], cwd=scratch, check=True, capture_output=True)
                times[name].append(time.perf_counter() - begin)
                shutil.rmtree(folder)
    return times


def section(size: int, rounds: int) -> list[str]:
    times = time_rounds(size, rounds)
    lines = [
        "# xopipe large run",
        "",
        f"## A {size}x{size} float32 run against the disk's floor (whole processes, "
        f"{rounds} rounds)",
        "",
        "| process | median | lowest-highest |",
        "| --- | --- | --- |",
    ]
    for name, seconds in times.items():
        spread = f"{format_seconds(min(seconds))}-{format_seconds(max(seconds))}"
        lines.append(f"| {name} | {format_seconds(float(np.median(seconds)))} | {spread} |")
    lines.append("")
    for label, run, floor, goal in RATIOS:
        found = ratio(times[PROCESSES[run]], times[PROCESSES[floor]])
        assert found is not None
        notes = [goal] if goal else []
        if found.moved > STEADY:
            notes.append(f"**not steady**: moved {found.moved:.0%}")
        tail = f"; {'; '.join(notes)}" if notes else ""
        lines.append(f"- {label}: {found.text('.2f')} (median, lowest-highest{tail})")
    return lines


def add_arguments(parser) -> None:  # type: ignore[no-untyped-def]
    parser.add_argument(
        "--large-run",
        action="store_true",
        help="only the large-run section: a seed run's Parquet and CSV tables (and its Parquet "
        "on backend=dask) against plain processes writing the same arrays (np.save, "
        "shortest round-trip text), in rounds",
    )
    parser.add_argument(
        "--large-size", type=int, default=DEFAULT_SIZE, help="the large run's input side"
    )
