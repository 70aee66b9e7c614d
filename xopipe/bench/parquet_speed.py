"""python -m xopipe.bench.parquet_speed [SIZE] [ROUNDS]: cells/s of matrices.parquet encodings.

The seed pipeline's arrays at SIZE x SIZE (input float64, the stages float32,
as a float32 run keeps them) written with pyarrow's default encodings and
with xopipe's (xopipe.sinks.tables.ENCODING), taking turns round by round;
each file is read back and checked bit for bit, schema included.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from xopipe.run_folder import MATRICES_PARQUET
from xopipe.sinks import tables

# The defaults but for the Arrow schema, which would read the dictionary columns back as such.
VARIANTS: dict[str, dict] = {"pyarrow defaults": {"store_schema": False}, "xopipe": tables.ENCODING}


def seed_arrays(size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    conv = rng.uniform(-1, 1, (3, size - 2, size - 2)).astype(np.float32)
    half = (size - 2) // 2
    return {
        "input": rng.uniform(-1, 1, (1, size, size)),
        "conv": conv,
        "pool": conv[:, : 2 * half : 2, : 2 * half : 2].copy(),
        "activation": np.maximum(conv, 0),
    }


def _check(path: Path, arrays: dict[str, np.ndarray]) -> None:
    back = pq.read_table(path)
    assert back.schema.equals(tables.SCHEMA), back.schema
    for name, array in tables.arrays_from_table(back).items():
        assert array.tobytes() == arrays[name].astype(np.float64).tobytes(), name


def measure(size: int, rounds: int) -> dict[str, tuple[list[float], int]]:
    """variant -> (seconds in each round, file bytes)."""
    arrays = seed_arrays(size)
    results: dict[str, tuple[list[float], int]] = {name: ([], 0) for name in VARIANTS}
    names = list(VARIANTS)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / MATRICES_PARQUET
        for round_ in range(rounds):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                begin = time.perf_counter()
                tables.write_parquet(path, arrays, VARIANTS[name])
                seconds = time.perf_counter() - begin
                if round_ == 0:
                    _check(path, arrays)
                results[name] = (results[name][0] + [seconds], path.stat().st_size)
    return results


def main(argv: list[str]) -> int:
    size = int(argv[0]) if argv else 2048
    rounds = int(argv[1]) if len(argv) > 1 else 5
    cells = sum(a.size for a in seed_arrays(size).values())
    print(f"{size}x{size} seed pipeline, {cells / 1e6:.1f} M cells, {rounds} rounds")
    for name, (seconds, size_bytes) in measure(size, rounds).items():
        median = float(np.median(seconds))
        print(
            f"- {name}: {cells / median / 1e6:.1f} M cells/s (median {median:.2f} s, "
            f"{min(seconds):.2f}-{max(seconds):.2f}), {size_bytes / 2**20:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
