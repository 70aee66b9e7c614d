"""The loss a run differentiates: which stages it reads, its value and its first gradients.

`read_loss` checks the `loss` node against the pipeline (stage names, a
backward pass on every stage the gradient crosses, each target's shape)
before any work. The value is computed on the host from the stored arrays,
in float64, so every backend's run of the same arrays records the same
number; the gradient that starts the backward pass is made there too, in
the run's dtype, and crosses to the backend once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xopipe.config.loss_schema import LossConfig
from xopipe.errors import UserError, invalid
from xopipe.pipeline import SOURCE, Pipeline
from xopipe.readers import (
    CSV_SUFFIXES,
    NPY_SUFFIXES,
    Limits,
    existing_file,
    read_csv_grid,
    read_npy,
)

KINDS = ("none", "sum", "mse")

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class Loss:
    kind: str  # sum | mse
    stages: tuple[str, ...]  # in run order
    # mse: stage -> its target, [C, H, W] in the run's dtype (zeros where none was given)
    targets: Mapping[str, np.ndarray] = field(default_factory=dict)
    target_files: Mapping[str, str] = field(default_factory=dict)  # as configured

    def value(self, arrays: Mapping[str, np.ndarray]) -> float:
        """L, in float64, from the stages' stored arrays."""
        total = 0.0
        for name in self.stages:
            out = arrays[name].astype(np.float64, copy=False)  # a float64 run's own array
            if self.kind == "sum":
                total += float(out.sum())
            else:
                target = self.targets[name].astype(np.float64, copy=False)
                total += float(np.mean((out - target) ** 2))
        return total

    def output_gradients(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """dL/d each loss stage's output, in the stage's dtype: 1 (sum), 2 (y - t) / n (mse)."""
        gradients = {}
        for name in self.stages:
            out = arrays[name]
            if self.kind == "sum":
                gradients[name] = np.ones_like(out)
            else:
                scale = out.dtype.type(2.0 / out.size)
                gradients[name] = (out - self.targets[name]) * scale
        return gradients

    def facts(self, value: float) -> dict[str, Any]:
        """For the manifest: kind, stages, value (JSON keeps float64's shortest digits)."""
        facts: dict[str, Any] = {"kind": self.kind, "stages": list(self.stages), "value": value}
        if self.target_files:
            facts["targets"] = dict(self.target_files)
        return facts


def read_loss(
    node: LossConfig,
    pipeline: Pipeline,
    shapes: Mapping[str, Shape],
    differentiable: Mapping[str, bool],
    dtype: np.dtype,
    limits: Limits,
) -> Loss | None:
    """The run's loss, or None for loss=none; every mistake is one line, before any work.

    `differentiable`: stage -> whether its op has a backward pass.
    """
    if node.kind not in KINDS:
        training = " (cross_entropy is xopipe-train's loss)" if node.kind == "cross_entropy" else ""
        raise invalid("loss", node.kind, "one of " + ", ".join(KINDS) + training)
    if node.kind == "none":
        if node.targets:
            raise UserError("loss.targets needs loss=mse (loss is none: nothing is differentiated)")
        if node.stages is not None:
            raise UserError(
                "loss.stages needs loss=sum or loss=mse (loss is none: nothing is differentiated)"
            )
        return None
    stages = _loss_stages(node.stages, pipeline)
    _check_differentiable(stages, pipeline, differentiable)
    if node.kind == "sum" and node.targets:
        raise UserError("loss.targets is for loss=mse; loss=sum has no targets")
    targets: dict[str, np.ndarray] = {}
    if node.kind == "mse":
        for name in node.targets:
            if name not in stages:
                raise invalid(f"loss.targets.{name}", name, "a loss stage: " + ", ".join(stages))
        for name in stages:
            path = node.targets.get(name)
            targets[name] = (
                np.zeros(shapes[name], dtype)
                if path is None
                else _read_target(f"loss.targets.{name}", path, shapes[name], dtype, limits)
            )
    return Loss(node.kind, stages, targets, dict(node.targets))


def terminal_stages(pipeline: Pipeline) -> tuple[str, ...]:
    """The stages no other stage reads, in run order: the seed's pool and activation."""
    read = {spec.input for spec in pipeline.stages.values()}
    return tuple(name for name in pipeline.order if name not in read)


def _loss_stages(chosen: Sequence[str] | None, pipeline: Pipeline) -> tuple[str, ...]:
    if chosen is None:
        return terminal_stages(pipeline)
    allowed = "null (the terminal stages) or a list of " + ", ".join(pipeline.order)
    if not isinstance(chosen, list) or not chosen or any(s not in pipeline.stages for s in chosen):
        if isinstance(chosen, list) and SOURCE in chosen:
            allowed += f" ('{SOURCE}' is the source image: nothing computes it)"
        raise invalid("loss.stages", chosen, allowed)
    return tuple(name for name in pipeline.order if name in chosen)


def _check_differentiable(
    stages: Sequence[str], pipeline: Pipeline, differentiable: Mapping[str, bool]
) -> None:
    """Every stage between the input and a loss stage needs a backward pass."""
    for name in stages:
        step = name
        while step != SOURCE:
            if not differentiable[step]:
                spec = pipeline.stages[step]
                raise UserError(
                    f"loss.stages: the gradient of {name} crosses stage '{step}' "
                    f"(op {spec.op}), which has no backward pass; "
                    "choose loss.stages before it, or loss=none"
                )
            step = pipeline.stages[step].input


def _read_target(key: str, path_text: str, shape: Shape, dtype: np.dtype, limits: Limits) -> Any:
    """A target file, [C, H, W] or [H, W] for one channel, shaped as the stage's output."""
    path: Path = existing_file(key, path_text, CSV_SUFFIXES + NPY_SUFFIXES)
    grid = (
        read_npy(key, path, limits)
        if path.suffix.lower() in NPY_SUFFIXES
        else read_csv_grid(key, path, limits)
    )
    if grid.ndim == 2 and shape[0] == 1:
        grid = grid[np.newaxis]
    if grid.shape != tuple(shape):
        raise UserError(
            f"{key}: '{path_text}' has shape {list(grid.shape)}, but the stage's output is "
            f"{list(shape)} (channels, rows, cols; [rows, cols] for one channel)"
        )
    return grid.astype(dtype)
