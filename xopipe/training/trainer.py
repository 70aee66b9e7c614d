"""The training loop: epochs of shuffled batches, SGD steps, and both splits scored each epoch.

Every backend gets the same batches in the same order (the order of epoch e
comes from numpy.random.default_rng([train.seed, e]), so a resumed run
draws exactly what the uninterrupted one would have), the same starting
weights and the same host arithmetic for the head, so their weights after
every epoch agree to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from xopipe.backends import Backend
from xopipe.config.train_schema import TrainLoopConfig
from xopipe.errors import UserError, invalid
from xopipe.training.data import SPLITS, Dataset
from xopipe.training.model import Model, Parameters
from xopipe.training.optim import SGD

SCORE_BATCH = 256  # images per forward pass when scoring a split


class Diverged(UserError):
    """The loss is no longer a number: the run stops and says which epoch."""


@dataclass
class Epoch:
    number: int  # 0: before any step
    params: Parameters  # after it (copies)
    buffers: Parameters  # SGD's momentum after it, for resuming
    scores: dict[str, tuple[float, float]]  # split -> (mean loss, accuracy)


@dataclass
class Trained:
    epochs: list[Epoch] = field(default_factory=list)
    probabilities: np.ndarray | None = None  # test images' class probabilities, at the end


def check_loop(node: TrainLoopConfig, weighted: list[str]) -> None:
    if not node.epochs >= 1:
        raise invalid("train.epochs", node.epochs, "a whole number >= 1")
    if not node.batch_size >= 1:
        raise invalid("train.batch_size", node.batch_size, "a whole number >= 1")
    unknown = [name for name in node.freeze if name not in weighted]
    if unknown:
        raise invalid(
            "train.freeze", list(node.freeze), "stages with weights: " + ", ".join(weighted)
        )


def score(model: Model, backend: Backend, params: Parameters, data: Dataset, split: str):
    """(mean loss, accuracy, probabilities) of one split, without gradients."""
    images, labels = data.part(split)
    total, correct, parts = 0.0, 0, []
    for start in range(0, len(labels), SCORE_BATCH):
        batch = slice(start, start + SCORE_BATCH)
        step = model.step(backend, params, images[batch], labels[batch], gradients=False)
        total += step.loss * len(labels[batch])
        correct += step.correct
        parts.append(step.probabilities)
    return total / len(labels), correct / len(labels), np.concatenate(parts)


def train(
    model: Model,
    backend: Backend,
    data: Dataset,
    node: TrainLoopConfig,
    optimizer: SGD,
    start: Epoch,
    on_epoch: Callable[[Epoch], None] = lambda epoch: None,
) -> Trained:
    """Train from `start` (epoch 0, or the last epoch a resumed run completed) to node.epochs."""
    params = {name: value.copy() for name, value in start.params.items()}
    optimizer.buffers = {name: value.copy() for name, value in start.buffers.items()}
    trained = Trained([start])
    for number in range(start.number + 1, node.epochs + 1):
        epoch = run_epoch(model, backend, data, node, optimizer, params, number)
        trained.epochs.append(epoch)
        on_epoch(epoch)
    trained.probabilities = score(model, backend, params, data, "test")[2]
    return trained


def run_epoch(
    model: Model,
    backend: Backend,
    data: Dataset,
    node: TrainLoopConfig,
    optimizer: SGD,
    params: Parameters,
    number: int,
) -> Epoch:
    """Epoch `number`: an SGD step per batch (updating `params`), then both splits scored."""
    images, labels = data.part("train")
    order = (
        np.random.default_rng([node.seed, number]).permutation(len(labels))
        if node.shuffle
        else np.arange(len(labels))
    )
    for first in range(0, len(labels), node.batch_size):
        batch = order[first : first + node.batch_size]
        step = model.step(backend, params, images[batch], labels[batch])
        if not math.isfinite(step.loss):
            raise Diverged(
                f"the loss became {step.loss} in epoch {number} (batch "
                f"{first // node.batch_size + 1}); lower optim.lr (now {optimizer.lr:g})"
            )
        assert step.grads is not None
        optimizer.step(params, step.grads)
    scores = _scores(model, backend, params, data)
    return Epoch(number, _copy(params), _copy(optimizer.buffers), scores)


def first_epoch(model: Model, backend: Backend, params: Parameters, data: Dataset) -> Epoch:
    """Epoch 0: the starting weights, scored before any step."""
    return Epoch(0, _copy(params), {}, _scores(model, backend, params, data))


def _scores(model: Model, backend: Backend, params: Parameters, data: Dataset):
    found = {}
    for split in SPLITS:
        loss, accuracy, _ = score(model, backend, params, data, split)
        found[split] = (loss, accuracy)
    return found


def _copy(params: Parameters) -> Parameters:
    return {name: value.copy() for name, value in params.items()}
