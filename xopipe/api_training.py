"""`xopipe.train(*overrides)`: a training run from Python, as `xopipe.run` is a run.

The config is composed from conf/train.yaml with the command line's
overrides; the files go into `out_dir` or a temporary folder removed with
the result. The history comes back as a pandas DataFrame (pandas is
imported here, never by a plain run).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xopipe.config.compose import compose_config
from xopipe.run_folder import read_manifest
from xopipe.training import files
from xopipe.training.model import Parameters
from xopipe.training.run import Training, run_training


@dataclass(frozen=True)
class TrainResult:
    """A finished training run: its history, its weights by epoch, its model and folder."""

    out_dir: Path
    manifest: dict[str, Any]
    weights_by_epoch: list[Parameters]  # epoch 0 (the start) to the last
    training: Training = field(repr=False)
    _cleanup: weakref.finalize | None = field(default=None, repr=False, compare=False)

    @property
    def weights(self) -> Parameters:
        """The final weights: "<stage>.weight", "<stage>.bias", "head.weight", "head.bias"."""
        return self.weights_by_epoch[-1]

    @property
    def history(self) -> Any:
        """epoch, split, loss, accuracy: history.parquet as a pandas DataFrame."""
        import pandas as pd

        return pd.read_parquet(self.out_dir / files.HISTORY)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.training.data.classes

    def predict(self, images: np.ndarray, backend: str = "numpy") -> np.ndarray:
        """Class probabilities [N, classes] of images [N, H, W] with the final weights."""
        from xopipe.backends import get_backend

        batch = np.asarray(images, dtype=np.float64)[:, None]
        labels = np.zeros(len(batch), dtype=int)
        step = self.training.model.step(
            get_backend(backend), self.weights, batch, labels, gradients=False
        )
        return step.probabilities

    def close(self) -> None:
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> TrainResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def train(*overrides: str, out_dir: str | Path | None = None) -> TrainResult:
    """Train with command-line style overrides ("optim.lr=0.5", "kernels=xo").

    A mistake raises xopipe.errors.UserError with the command line's one line.
    """
    cfg = compose_config(overrides, config_name="train")
    temporary = out_dir is None
    folder = Path(tempfile.mkdtemp(prefix="xopipe-train-") if out_dir is None else out_dir)
    try:
        training = run_training(cfg, folder, list(overrides))
    except BaseException:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    manifest = read_manifest(folder)
    assert manifest is not None, "a finished training run has its manifest"
    epochs = [epoch.params for epoch in training.trained.epochs]
    result = TrainResult(folder, manifest, epochs, training)
    if temporary:
        cleanup = weakref.finalize(result, shutil.rmtree, folder, ignore_errors=True)
        object.__setattr__(result, "_cleanup", cleanup)
    return result
