"""backend=dask against the seed pipeline written with the libraries directly (the peer).

The peer (issue 25): dask_image.ndfilters.correlate with each seed kernel / 9
(the valid part kept), da.pad + da.coarsen(np.max) for the 2x2 pool, da.maximum
for relu, a random float32 input in chunks of 2048, each result da.stored into
a memory-mapped .npy. Without dask_image it correlates with
dask.array.map_overlap and a NumPy 3x3 correlate (the section says which).

xopipe does the same work: backend=dask, float32, tables.formats=[npy] for the
three stages, with tables.npy_dtype=float32 (the peer's bytes) and with the
default float64 (twice them; beside the peer widening its results to float64).
Each runs in a fresh process, the four taking turns in rounds; wall time and
peak resident memory are measured from outside (python -m xopipe.bench.dask_peer
SIZE FOLDER [float64] runs the peer).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xopipe.bench.rounds import STEADY, ratio

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


def xopipe_command(
    size: int, folder: Path, formats: str = "npy", npy_dtype: str = "float64"
) -> list[str]:
    cells = 4 * size * size
    return [
        *[sys.executable, "-m", "xopipe", "backend=dask", "input=random", "dtype=float32"],
        *[f"input.shape=[{size},{size}]", f"tables.formats=[{formats}]"],
        *["tables.stages=[conv,pool,activation]", f"tables.npy_dtype={npy_dtype}"],
        *["figures=none", "print_matrices=false"],
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


PEER_32 = "peer (libraries directly, float32 .npy)"
PEER_64 = "peer, its results widened to float64 .npy"
OURS_32 = "xopipe backend=dask, tables.formats=[npy], tables.npy_dtype=float32"
OURS_64 = "xopipe backend=dask, tables.formats=[npy] (float64 .npy, the default)"


def compare(size: int, rounds: int, parquet: bool = True) -> list[str]:
    """The section's lines: the peer and xopipe at size^2 (npy) taking turns in `rounds`,
    their ratios round by round, and xopipe's Parquet at half the size."""
    lines = [f"- the peer correlates with {peer_engine()}; chunks of {CHUNKS}, float32"]
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as scratch:
        root = Path(scratch)
        peer_command = [sys.executable, "-m", "xopipe.bench.dask_peer", str(size), str(root)]
        runs = {
            PEER_32: peer_command,
            PEER_64: [*peer_command, "float64"],
            OURS_32: xopipe_command(size, root / "xopipe", npy_dtype="float32"),
            OURS_64: xopipe_command(size, root / "xopipe"),
        }
        found: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
        names = list(runs)
        for round_ in range(rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                found[name].append(measured(runs[name], root))
                _clear(root)
        for name, each in found.items():
            seconds = [one["seconds"] for one in each]
            peak = max(one["peak"] for one in each)
            lines.append(
                f"- {size}^2, {name}: {np.median(seconds):.1f} s "
                f"({min(seconds):.1f}-{max(seconds):.1f}), peak RSS {peak / 2**30:.2f} GiB"
            )
        for label, ours, peer_name, goal in (
            ("xopipe (float32 .npy) / peer", OURS_32, PEER_32, "; goal <= 1.2"),
            ("xopipe (float64 .npy) / peer widened to float64", OURS_64, PEER_64, ""),
        ):
            rounds_ratio = ratio(
                *([one["seconds"] for one in found[key]] for key in (ours, peer_name))
            )
            assert rounds_ratio is not None
            moved = rounds_ratio.moved
            steady = f"; **not steady**: moved {moved:.0%}" if moved > STEADY else ""
            spread = rounds_ratio.text(".2f")
            lines.append(f"- time, {label}: {spread} (median, lowest-highest{goal}{steady})")
        if parquet:
            half = size // 2
            run = measured(xopipe_command(half, root / "parquet", "parquet"), root)
            cells = 3 * (half - 2) ** 2 * 2 + 3 * ((half - 2) // 2) ** 2
            lines.append(
                f"- {half}^2, xopipe backend=dask, tables.formats=[parquet]: "
                f"{run['seconds']:.1f} s, peak RSS {run['peak'] / 2**30:.2f} GiB, "
                f"{cells / run['seconds'] / 1e6:.1f} M cells/s"
            )
    return lines


def section(large: bool, rounds: int) -> list[str]:
    """backend=dask against its peer, at 8192^2 (and 16384^2), in `rounds`."""
    lines = ["", "## Past memory: backend=dask against the seed pipeline in dask directly", ""]
    for size in (DASK_SIZE, 16384) if large else (DASK_SIZE,):
        lines += compare(size, rounds)
    return lines


def _clear(root: Path) -> None:
    """Empty `root` for the next process (xopipe refuses a folder holding a complete run)."""
    for path in root.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def main(argv: list[str]) -> int:
    size, folder = int(argv[0]), Path(argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    peer(size, folder, *argv[2:3])
    print(json.dumps({"seconds": time.perf_counter() - begin}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
