"""A run is reproducible from its folder alone: `.hydra/`, `matrices/input_<c>.csv`, `weights/`.

Only those are copied to a fresh folder; a second run reads nothing else
(its input from the CSV grids, its kernels from the weight grids, the rest
of the config from `.hydra/`) and writes the first run's tables byte for byte.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.cli import run_cli

QUIET = ("figures=none", "print_matrices=false")
TABLES = ("matrices.parquet", "weights.parquet", "matrices", "weights")
# Overrides that say where the input and kernels come from: the folder replaces them.
SOURCES = ("input", "kernels")


def _rgb_image(folder: Path) -> Path:
    pixels = np.random.default_rng(8).integers(0, 256, (15, 17, 3), dtype=np.uint8)
    path = folder / "photo.png"
    Image.fromarray(pixels).save(path)
    return path


CASES = {
    "random input": [
        "input=random",
        "input.shape=[11,13]",
        "input.seed=5",
        "conv.stride=2",
        "conv.padding=1",
        "conv.bias=[0.1,-0.2,0.3]",
    ],
    "random kernels": [
        "input=o",
        "kernels=random",
        "kernels.shape=[4,3,2]",
        "kernels.seed=4",
        "conv.flip=true",
        "pool=avg",
        "activation=tanh",
    ],
    "rgb image": [
        "input=file",
        "input.path={image}",
        "input.color=rgb",
        "input.resize=[12,10]",
        "kernels=sobel",  # 2-D kernels spread over the channels; normalize=none
        "dtype=float32",
        "activation=sigmoid",
    ],
}


def _copy_what_the_folder_keeps(run: Path, fresh: Path) -> None:
    shutil.copytree(run / ".hydra", fresh / ".hydra")
    (fresh / "matrices").mkdir(parents=True)
    for grid in (run / "matrices").glob("input_*.csv"):
        shutil.copy(grid, fresh / "matrices" / grid.name)
    shutil.copytree(run / "weights", fresh / "weights")


def _overrides_from(fresh: Path) -> list[str]:
    """The run again, from the fresh folder's files only."""
    hydra = fresh / ".hydra"
    saved = yaml.safe_load((hydra / "overrides.yaml").read_text())
    config = yaml.safe_load((hydra / "config.yaml").read_text())
    kept = [o for o in saved if o.split("=")[0].split(".")[0] not in SOURCES]
    channels = sorted((fresh / "matrices").glob("input_*.csv"), key=lambda p: int(p.stem[6:]))
    image = np.stack([np.loadtxt(p, delimiter=",", ndmin=2) for p in channels])
    np.save(fresh / "input.npy", image)
    kernels, count = [], len(list((fresh / "weights").glob("conv_*_0.csv")))
    for k in range(count):
        grids = [fresh / "weights" / f"conv_{k}_{c}.csv" for c in range(image.shape[0])]
        grids = [g for g in grids if g.exists()]
        kernels.append(np.stack([np.loadtxt(g, delimiter=",", ndmin=2) for g in grids]))
    np.save(fresh / "kernels.npy", np.stack(kernels))
    return [
        *kept,
        "input=file",
        f"input.path={fresh / 'input.npy'}",
        "kernels=file",
        f"kernels.path={fresh / 'kernels.npy'}",
        "conv.flip=false",  # the weights are stored as applied, already flipped
        f"conv.normalize={config['conv']['normalize']}",  # a stock set may have chosen it
    ]


def _tables(folder: Path) -> dict[str, bytes]:
    files = {}
    for name in TABLES:
        path = folder / name
        for item in sorted(path.rglob("*.csv")) if path.is_dir() else [path]:
            files[str(item.relative_to(folder))] = item.read_bytes()
    return files


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_run_is_reproducible_from_its_folder_alone(tmp_path, case):
    overrides = [o.format(image=_rgb_image(tmp_path)) for o in CASES[case]]
    first = tmp_path / "first"
    result = run_cli(*overrides, *QUIET, f"hydra.run.dir={first}")
    assert result.code == 0, result.stderr

    fresh = tmp_path / "elsewhere" / "kept"
    _copy_what_the_folder_keeps(first, fresh)
    (tmp_path / "photo.png").unlink()  # the original image is gone too
    again = fresh.parent / "again"
    result = run_cli(*_overrides_from(fresh), f"hydra.run.dir={again}")
    assert result.code == 0, result.stderr

    expected = _tables(first)
    assert len(expected) >= 2 + 3 * 3 + 3  # both tables, every grid and weight
    assert _tables(again) == expected
