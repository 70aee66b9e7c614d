"""What a training run's figures and page show, as plain arrays (no matplotlib here).

xopipe.training builds it from the epochs it ran; figures/training_figures.py
draws it and html/training_page.py carries it into report.html, so both show
the very numbers the run wrote to history.parquet, weights_history.parquet
and predictions.parquet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "test")


@dataclass(frozen=True)
class TrainingStory:
    epochs: np.ndarray  # [E] epoch numbers, 0 (before training) first
    scores: dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (mean loss [E], accuracy [E])
    kernels: dict[str, np.ndarray]  # weighted stage (pipeline order) -> [E, K, C, kh, kw]
    biases: dict[str, np.ndarray]  # weighted stage -> [E, K]
    head_weight: np.ndarray  # [E, classes, features]
    head_bias: np.ndarray  # [E, classes]
    seed_kernels: np.ndarray  # the seed's hand-made kernels (conf/kernels/xo.yaml), [3, 3, 3]
    classes: tuple[str, ...]  # sorted by name; class numbers index it
    labels: np.ndarray  # [N] each test image's class number
    predicted: np.ndarray  # [N] the class the final weights vote for

    @property
    def last(self) -> int:
        return int(self.epochs[-1])

    def confusion(self) -> np.ndarray:
        """Test images counted by [true class, predicted class]."""
        size = len(self.classes)
        counts = np.zeros((size, size), dtype=np.int64)
        np.add.at(counts, (self.labels, self.predicted), 1)
        return counts

    @property
    def first_stage(self) -> str:
        """The stage that reads the image: its kernels are the ones to set beside the seed's."""
        return next(iter(self.kernels))


def shown_epochs(count: int, most: int) -> list[int]:
    """Positions of the epochs a figure has room for: all, or `most` evenly spread that
    keep the first (before training) and the last."""
    if count <= most:
        return list(range(count))
    return sorted({round(p) for p in np.linspace(0, count - 1, most)})


def closest_seed(kernel: np.ndarray, seeds: np.ndarray) -> tuple[int, float]:
    """(seed kernel, cosine) of the seed kernel most like `kernel` up to sign: the one of
    largest |cos| (a kernel and its negative find the same stroke; the head flips the vote)."""
    flat = kernel.reshape(-1)
    norms = np.linalg.norm(seeds.reshape(len(seeds), -1), axis=1) * np.linalg.norm(flat)
    cos = seeds.reshape(len(seeds), -1) @ flat / np.where(norms == 0, 1.0, norms)
    best = int(np.argmax(np.abs(cos)))
    return best, float(cos[best])
