"""The `loss` node: what a run differentiates, if anything (its own module: schema.py is full)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LossConfig:
    # none: forward only (no gradients, the files of a run before losses existed);
    # sum: L = the sum of every cell of the loss stages;
    # mse: L = the sum over the loss stages of mean((out - target)^2).
    kind: str = "none"
    stages: list[str] | None = None  # null: the terminal stages (those no other stage reads)
    # mse only: stage -> a .npy or .csv file shaped as that stage's output; a stage
    # not named here has a target of zeros.
    targets: dict[str, str] = field(default_factory=dict)
