"""backend=dask against the seed pipeline written with the libraries directly (the peer).

The peer (issue 25): dask_image.ndfilters.correlate with each seed kernel / 9
(the valid part kept), da.pad + da.coarsen(np.max) for the 2x2 pool, da.maximum
for relu, a random float32 input in chunks of 2048, each result da.stored into
a memory-mapped .npy. Without dask_image it correlates with
dask.array.map_overlap and a NumPy 3x3 correlate (the section says which).

xopipe does the same work: backend=dask, float32, tables.formats=[npy] for the
three stages (xopipe's .npy tables are float64: twice the peer's bytes).
Each runs in a fresh process; its wall time and peak resident memory are
measured from outside (python -m xopipe.bench.dask_peer SIZE FOLDER runs the peer).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHUNKS = 2048
DASK_SIZE = 8192  # the section's size (--dask-16384 adds 16384)
XO = [[[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], [[1, -1, 1], [-1, 1, -1], [1, -1, 1]]]
XO += [[[-1, -1, 1], [-1, 1, -1], [1, -1, -1]]]  # the seed's three kernels (conf/kernels/xo)


def peer_engine() -> str:
    """Which correlate the peer uses here."""
    try:
        import dask_image.ndfilters  # noqa: F401
    except ImportError:
        return "dask.array.map_overlap + a NumPy 3x3 correlate (dask_image not installed)"
    return "dask_image.ndfilters.correlate"


def _correlate(image, kernel: np.ndarray):
    try:
        from dask_image.ndfilters import correlate
    except ImportError:
        return image.map_overlap(_correlate_block, depth=1, boundary=0, weights=kernel)
    return correlate(image, kernel, mode="constant")


def _correlate_block(block: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """scipy.ndimage.correlate(mode="constant") on one block with its halo: the zeros
    added here fall on the halo's outer cells, which map_overlap trims."""
    height, width = block.shape
    padded = np.pad(block, 1)
    out = np.zeros_like(block)
    for a in range(3):
        for b in range(3):
            out += weights[a, b] * padded[a : a + height, b : b + width]
    return out


def peer(size: int, folder: Path, stored: str = "float32") -> None:
    """The seed pipeline with the libraries directly, stored into .npy files in `folder`
    (`stored`: float64 writes xopipe's bytes, the float32 results widened)."""
    import dask.array as da

    x = da.random.default_rng(0).random((size, size), chunks=CHUNKS, dtype=np.float32) * 2 - 1
    kernels = np.array(XO, dtype=np.float32) / 9
    conv = da.stack([_correlate(x, k)[1:-1, 1:-1] for k in kernels]).rechunk((1, CHUNKS, CHUNKS))
    rows = conv.shape[1]
    filled = da.pad(conv, ((0, 0), (0, rows % 2), (0, rows % 2))).rechunk((1, CHUNKS, CHUNKS))
    pooled = da.coarsen(np.max, filled, {1: 2, 2: 2})
    relu = da.maximum(conv, 0)
    results = {"conv": conv, "pool": pooled, "activation": relu}
    targets = [
        np.lib.format.open_memmap(folder / f"{name}.npy", "w+", stored, array.shape)
        for name, array in results.items()
    ]
    da.store([array.astype(stored) for array in results.values()], targets, lock=False)


def xopipe_command(size: int, folder: Path, formats: str = "npy") -> list[str]:
    cells = 4 * size * size
    return [
        *[sys.executable, "-m", "xopipe", "backend=dask", "input=random", "dtype=float32"],
        *[f"input.shape=[{size},{size}]", f"tables.formats=[{formats}]"],
        *["tables.stages=[conv,pool,activation]", "figures=none", "print_matrices=false"],
        *[f"limits.max_input_cells={cells}", f"limits.max_output_cells={3 * cells}"],
        f"hydra.run.dir={folder}",
    ]


def measured(command: list[str], cwd: Path) -> dict[str, float]:
    """Wall seconds and peak resident bytes of `command`, run in a fresh process."""
    code = (
        "import resource, subprocess, sys, time; begin = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(time.perf_counter() - begin, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *command], cwd=cwd, check=True, capture_output=True, text=True
    )
    seconds, kib = out.stdout.split()
    return {"seconds": float(seconds), "peak": float(kib) * 1024}


def compare(size: int, parquet: bool = True) -> list[str]:
    """The section's lines: the peer and xopipe at size^2 (npy), and xopipe's Parquet."""
    lines = [f"- the peer correlates with {peer_engine()}; chunks of {CHUNKS}, float32"]
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as scratch:
        root = Path(scratch)
        peer_command = [
            sys.executable,
            "-m",
            "xopipe.bench.dask_peer",
            str(size),
            str(root / "peer"),
        ]
        runs = {
            "peer (libraries directly, float32 .npy)": peer_command,
            "peer, float64 .npy (xopipe's bytes)": [*peer_command, "float64"],
            "xopipe backend=dask, tables.formats=[npy] (float64 .npy)": xopipe_command(
                size, root / "xopipe"
            ),
        }
        times = {}
        for name, command in runs.items():
            (root / "peer").mkdir(exist_ok=True)
            times[name] = measured(command, root)
            _clear(root)
        peer_time, peer64, ours = (found["seconds"] for found in times.values())
        for name, found in times.items():
            lines.append(
                f"- {size}^2, {name}: {found['seconds']:.1f} s, peak RSS "
                f"{found['peak'] / 2**30:.2f} GiB"
            )
        lines.append(
            f"- time, xopipe / peer: {ours / peer_time:.2f} (goal <= 1.2); xopipe / the peer "
            f"writing the same float64 bytes: {ours / peer64:.2f}"
        )
        if parquet:
            half = size // 2
            found = measured(xopipe_command(half, root / "parquet", "parquet"), root)
            cells = 3 * (half - 2) ** 2 * 2 + 3 * ((half - 2) // 2) ** 2
            lines.append(
                f"- {half}^2, xopipe backend=dask, tables.formats=[parquet]: "
                f"{found['seconds']:.1f} s, peak RSS {found['peak'] / 2**30:.2f} GiB, "
                f"{cells / found['seconds'] / 1e6:.1f} M cells/s"
            )
    return lines


def section(large: bool) -> list[str]:
    """backend=dask against its peer, at 8192^2 (and 16384^2)."""
    lines = ["", "## Past memory: backend=dask against the seed pipeline in dask directly", ""]
    for size in (DASK_SIZE, 16384) if large else (DASK_SIZE,):
        lines += compare(size)
    return lines


def _clear(root: Path) -> None:
    for path in root.rglob("*.npy"):
        path.unlink()


def main(argv: list[str]) -> int:
    size, folder = int(argv[0]), Path(argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    peer(size, folder, *argv[2:3])
    print(json.dumps({"seconds": time.perf_counter() - begin}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
