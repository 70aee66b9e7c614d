"""What an op is: one descriptor that owns everything about it.

An Op holds, in one place, what every part of xopipe asks of a kind of stage:
how it prepares its parameters from its config node (weights included), its
output shape and forward pass on any backend, its backward pass (gradients),
how one cell is explained, its one-line description and title in each
language, the page engine that recomputes it, and the controls the page
offers for it. Nothing outside its module asks which op a stage is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from xopipe.backends.base import Backend, BackendArray
from xopipe.ops.explanation import CellRef, Explanation

if TYPE_CHECKING:
    from xopipe.kernels import KernelSet
    from xopipe.ops.routes import Route
    from xopipe.readers import Limits

Shape = tuple[int, int, int]  # channels, rows, cols

KeyOf = Callable[[str], str]  # a config field -> its full key, for messages


@dataclass(frozen=True)
class StageConfig:
    """What an op's `prepare` reads: its node with the stage's own params applied."""

    node: Any  # the op's schema dataclass: ConvConfig, PadConfig, PoolConfig, ...
    keyof: KeyOf
    dtype: np.dtype
    kernels: KernelSet | None = None  # the run's kernels (an op with weights may take its own)
    own: Mapping[str, Any] = field(default_factory=dict)  # the stage's own `params`
    input_shape: Shape | None = None  # what reaches the stage; None: checked on its own
    limits: Limits | None = None  # for files an op reads itself (a stage's own kernels)


@dataclass(frozen=True)
class Weights:
    """The weights a stage applies, as `weights.parquet` stores them."""

    weight: np.ndarray  # [K, C, kh, kw], as applied
    bias: np.ndarray  # [K]
    names: tuple[str, ...]  # one label per kernel


@dataclass(frozen=True)
class Control:
    """A setting the explorer page lets a reader change: `conv.stride`, or `pool` itself."""

    field: str  # a field of the op's node; "name" picks the option (pool=avg)
    choices: tuple[str, ...] = ()  # a select's options; empty: a text field


Prepare = Callable[[StageConfig], Any]
OutputShape = Callable[[Shape, Any], Shape]
Forward = Callable[[Backend, BackendArray, Any], BackendArray]  # the backend's own arrays
Warnings = Callable[[Shape, Any], list[str]]  # (input shape, params) -> one line each
Explain = Callable[[CellRef, Any, np.ndarray, np.dtype], Explanation]
# (params, input shape, this op's words and the shared ones in one language) -> one line
Describe = Callable[[Any, Shape, Mapping[str, str]], str]


@dataclass(frozen=True)
class WeightGradients:
    """dL/d a stage's weights, shaped as its Weights: with respect to what weights.parquet
    stores (so `weight - lr * gradient` updates exactly that), in the backend's own arrays."""

    weight: BackendArray  # [K, C, kh, kw]
    bias: BackendArray  # [K]


# (backend, input x, output y, dL/dy, params) -> (dL/dx, dL/d its weights or None for an
# op without weights), every array the backend's own. y is the forward's output, for an
# op whose derivative reads it; the chain rule through a pipeline is the caller's.
Backward = Callable[
    [Backend, BackendArray, BackendArray, BackendArray, Any],
    tuple[BackendArray, WeightGradients | None],
]


# (input cell, params, input x, output shape, dtype) -> the output cells that read that
# cell, each with its local derivative: how a gradient's explanation runs the chain rule.
Routes = Callable[[CellRef, Any, np.ndarray, Shape, np.dtype], "list[Route]"]


def no_warnings(shape: Shape, params: Any) -> list[str]:
    return []


def no_weights(params: Any) -> Weights | None:
    return None


@dataclass(frozen=True)
class Op:
    name: str  # the op's name in pipeline.stages, and the config node that tunes it
    schema: type  # that node's dataclass (xopipe/config/schema.py)
    prepare: Prepare  # stage config -> params, every mistake refused here
    output_shape: OutputShape  # (input shape, params) -> output shape, or refused
    forward: Forward  # (backend, input, params) -> output, both the backend's own
    explain: Explain  # one output cell, recomputed step by step
    describe: Describe  # what the stage does, in one short line
    # lang -> word -> text: "title" names the stage's output (figure titles), the
    # rest are the words `describe` uses; every language has the same keys.
    words: Mapping[str, Mapping[str, str]]
    controls: tuple[Control, ...] = ()  # what the explorer page may change
    weights: Callable[[Any], Weights | None] = no_weights  # what weights.parquet stores
    warnings: Warnings = no_warnings  # allowed but surprising settings
    stage_params: frozenset[str] = frozenset()  # `params` beyond the node's fields
    slides_window: bool = False  # a window slides over the input (animations)
    backward: Backward | None = None  # an op without one cannot be differentiated
    routes: Routes | None = None  # with backward: explains one cell's gradient

    @property
    def engine(self) -> str:
        """The page's engine for this op: xopipe/html/engine_<name>.js registers it."""
        return self.name
