"""The training app's config: the run's nodes (pipeline, conv, pool, ...) plus data, head,
optim and train. `xopipe-train` composes conf/train.yaml against TrainConfig."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from xopipe.config.loss_schema import LossConfig
from xopipe.config.schema import XopipeConfig


@dataclass
class DataConfig:
    kind: str = MISSING  # xo | folder


@dataclass
class XoDataConfig(DataConfig):
    # X and O images made from the seed's 9x9 templates, each distorted with its own draw
    kind: str = "xo"
    n_train: int = 200
    n_test: int = 100
    seed: int = 0  # numpy.random.default_rng(seed): the same images every time
    shift: int = 1  # moved up to this many cells in each direction (the border fills with -1)
    flip: float = 0.05  # each pixel's sign flipped with this probability
    noise: float = 0.2  # then Gaussian noise of this standard deviation added


@dataclass
class FolderDataConfig(DataConfig):
    # data.path/<class>/<image>: .csv, .npy (one 2-D grid each) or .png/.jpg/.tif (read grey)
    kind: str = "folder"
    path: str = ""  # required
    test_fraction: float = 0.25  # of each class, held out (seeded draw)
    seed: int = 0
    scale: str = "signed"  # images: signed maps 0..255 to -1..1, unit to 0..1


@dataclass
class HeadConfig:
    # A linear layer over the terminal stages' outputs, flattened (channel, row, col) in
    # pipeline order: one "vote" per class. Initialised uniform in +-1/sqrt(features), as
    # torch.nn.Linear, from numpy.random.default_rng(seed).
    seed: int = 0


@dataclass
class OptimConfig:
    name: str = "sgd"  # plain or momentum SGD, as torch.optim.SGD
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0


@dataclass
class TrainLoopConfig:
    epochs: int = 20
    batch_size: int = 16
    shuffle: bool = True  # a new order every epoch, from default_rng([seed, epoch])
    seed: int = 0
    freeze: list[str] = field(default_factory=list)  # stages whose weights stay as given


@dataclass
class TrainConfig(XopipeConfig):
    data: DataConfig = MISSING
    head: HeadConfig = field(default_factory=HeadConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainLoopConfig = field(default_factory=TrainLoopConfig)
    loss: LossConfig = field(default_factory=lambda: LossConfig(kind="cross_entropy"))


TRAIN_SCHEMAS: dict[str, dict[str, type]] = {
    "data": {"xo": XoDataConfig, "folder": FolderDataConfig},
    "optim": {"sgd": OptimConfig},
}
