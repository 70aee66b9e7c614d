"""Finished runs and sweeps written as xopipe leaves them, so tests can state every number."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf
from PIL import Image

from xopipe.sinks.manifest import Manifest
from xopipe.sinks.tables import write_parquet


def random_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "input": rng.uniform(-1, 1, (1, 6, 5)),
        "conv": rng.uniform(-1, 1, (2, 4, 3)),
        "pool": rng.uniform(-1, 1, (2, 2, 2)),
    }


def make_run(
    path: Path,
    arrays: dict[str, np.ndarray] | None,
    overrides: list[str],
    backend: str = "numpy",
    dtype: str = "float64",
    error: str | None = None,
) -> Path:
    """A run folder as xopipe leaves it; `arrays=None` makes a failed run with `error`."""
    path.mkdir(parents=True)
    (path / ".hydra").mkdir()
    lines = "".join(f"- {text}\n" for text in overrides)
    (path / ".hydra" / "overrides.yaml").write_text(lines or "[]\n")
    manifest = Manifest(path, {"backend": backend, "dtype": dtype, "overrides": overrides})
    if arrays is None:
        manifest.write("failed", error=error or "UserError: bad value")
    else:
        write_parquet(path / "matrices.parquet", arrays)
        manifest.write("complete", [path / "matrices.parquet"])
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def png_size_and_pixels(data: bytes) -> tuple[int, int, np.ndarray]:
    """A PNG's width, height and [H, W, 3] pixels, read back with Pillow."""
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        return image.width, image.height, np.asarray(image)


def hydra_like(params: dict[str, str], task: list[str], sweeper: str = "BasicSweeper"):
    target = f"hydra._internal.core_plugins.basic_sweeper.{sweeper}"
    return OmegaConf.create(
        {"hydra": {"sweeper": {"_target_": target, "params": params}, "overrides": {"task": task}}}
    )
