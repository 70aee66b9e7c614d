"""Training data: X and O images made from the seed's templates, or a folder of the user's.

Every image is one grey channel, [1, H, W], all of one size. Classes are
sorted by name and numbered in that order (the head's rows follow it).
Everything a folder can get wrong is one line before any work.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from xopipe.config.train_schema import DataConfig, FolderDataConfig, XoDataConfig
from xopipe.errors import UserError, invalid
from xopipe.images import ImageOptions, read_image
from xopipe.inputs import check_seed
from xopipe.readers import (
    CSV_SUFFIXES,
    IMAGE_SUFFIXES,
    NPY_SUFFIXES,
    SUFFIXES,
    Limits,
    read_csv_grid,
    read_npy,
)

SPLITS = ("train", "test")


def template(name: str) -> np.ndarray:
    """The 9x9 image of conf/input/<name>.yaml: the seed's X, or the O drawn in its style."""
    text = (resources.files("xopipe.conf") / "input" / f"{name}.yaml").read_text()
    return np.array(yaml.safe_load(text)["values"], dtype=np.float64)


TEMPLATES = {"o": template("o"), "x": template("x")}


@dataclass(frozen=True)
class Dataset:
    images: np.ndarray  # [N, 1, H, W] float64
    labels: np.ndarray  # [N] class numbers
    splits: np.ndarray  # [N] "train" | "test"
    classes: tuple[str, ...]  # sorted by name

    def part(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        chosen = self.splits == split
        return self.images[chosen], self.labels[chosen]


def load_data(node: DataConfig, limits: Limits) -> Dataset:
    if isinstance(node, XoDataConfig):
        return xo_data(node)
    assert isinstance(node, FolderDataConfig), type(node)
    return folder_data(node, limits)


def xo_data(node: XoDataConfig) -> Dataset:
    """n_train + n_test images, X and O alternating, each distorted by its own draw."""
    for key in ("n_train", "n_test"):
        if not getattr(node, key) >= 1:
            raise invalid(f"data.{key}", getattr(node, key), "a whole number >= 1")
    if not 0 <= node.shift <= 3:
        raise invalid("data.shift", node.shift, "0..3 cells")
    if not 0 <= node.flip <= 0.5:
        raise invalid("data.flip", node.flip, "a probability in 0..0.5")
    if not node.noise >= 0:
        raise invalid("data.noise", node.noise, "a standard deviation >= 0")
    rng = np.random.default_rng(check_seed("data.seed", node.seed))
    classes = tuple(sorted(TEMPLATES))
    count = node.n_train + node.n_test
    images, labels = [], []
    for index in range(count):
        label = index % len(classes)
        images.append(_distorted(TEMPLATES[classes[label]], node, rng))
        labels.append(label)
    splits = np.array(["train"] * node.n_train + ["test"] * node.n_test)
    return Dataset(np.stack(images)[:, None], np.array(labels), splits, classes)


def _distorted(grid: np.ndarray, node: XoDataConfig, rng: np.random.Generator) -> np.ndarray:
    dy, dx = rng.integers(-node.shift, node.shift + 1, size=2)
    moved = np.full_like(grid, -1.0)
    height, width = grid.shape
    src = grid[max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
    moved[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    flips = rng.random(grid.shape) < node.flip
    moved = np.where(flips, -moved, moved)
    return moved + rng.normal(0.0, node.noise, grid.shape) if node.noise > 0 else moved


def folder_data(node: FolderDataConfig, limits: Limits) -> Dataset:
    """data.path/<class>/<file>: every class with at least one file, every image one size."""
    root = Path(node.path).expanduser()
    if node.path in ("", "???"):
        raise UserError("data.path is required with data=folder: data.path=FOLDER")
    if not root.is_dir():
        raise UserError(f"data.path must name a folder of class folders, got '{node.path}'")
    if not 0 < node.test_fraction < 1:
        raise invalid("data.test_fraction", node.test_fraction, "a fraction between 0 and 1")
    if node.scale not in ("signed", "unit"):
        raise invalid("data.scale", node.scale, "signed (-1..1) or unit (0..1)")
    classes = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and _files(p)))
    if len(classes) < 2:
        found = ", ".join(classes) or "none"
        raise UserError(
            f"data.path: '{node.path}' must hold at least two class folders with images "
            f"(.csv, .npy, .png, .jpg, .tif); found {found}"
        )
    rng = np.random.default_rng(check_seed("data.seed", node.seed))
    options = ImageOptions("grey", None, node.scale)
    images, labels, splits = [], [], []
    for label, name in enumerate(classes):
        files = _files(root / name)
        held = set(rng.permutation(len(files))[: max(1, round(len(files) * node.test_fraction))])
        for number, path in enumerate(files):
            images.append(_read(path, options, limits))
            labels.append(label)
            splits.append("test" if number in held and len(files) > 1 else "train")
    shapes = {grid.shape for grid in images}
    if len(shapes) > 1:
        first, other = sorted(shapes)[:2]
        raise UserError(
            f"data.path: every image must have one size; found {list(first)} and {list(other)}"
        )
    return Dataset(np.stack(images)[:, None], np.array(labels), np.array(splits), classes)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def _read(path: Path, options: ImageOptions, limits: Limits) -> np.ndarray:
    key = f"data.path ({path.parent.name}/{path.name})"
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        grid = read_csv_grid(key, path, limits)
    elif suffix in NPY_SUFFIXES:
        grid = read_npy(key, path, limits)
    else:
        assert suffix in IMAGE_SUFFIXES
        grid = read_image(key, path, options, limits)[0]
    if grid.ndim != 2:
        raise UserError(f"{key}: must hold one 2-D grid, got shape {list(grid.shape)}")
    if not np.isfinite(grid).all():
        raise UserError(f"{key}: must hold finite numbers")
    return grid.astype(np.float64)
