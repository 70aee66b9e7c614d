"""The stage registry: ops are plain functions registered by name.

An op is three functions: `prepare` turns its typed config node into parameters
(rejecting bad values), `output_shape` checks the parameters against the
shape that reaches the stage, and `run` computes on a backend; a fourth,
`warnings`, may name a setting that is allowed but surprising. A pipeline
prepares and shape-checks every stage before it runs any, so a user's
mistake stops the run before work starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xopipe.backends.base import Backend, BackendArray

if TYPE_CHECKING:
    from xopipe.kernels import KernelSet

Shape = tuple[int, int, int]  # channels, rows, cols

KeyOf = Callable[[str], str]  # a config field -> its full key, for messages


@dataclass(frozen=True)
class StageConfig:
    """What an op's `prepare` reads: its node with the stage's own params applied."""

    node: Any  # the op's schema dataclass: ConvConfig, PadConfig, PoolConfig, ...
    keyof: KeyOf
    dtype: np.dtype
    kernels: KernelSet | None = None  # conv: the weights this stage slides


Prepare = Callable[[StageConfig], Any]
OutputShape = Callable[[Shape, Any], Shape]
Run = Callable[[Backend, BackendArray, Any], BackendArray]  # arrays in the backend's own type
Warnings = Callable[[Shape, Any], list[str]]  # (input shape, params) -> one line each


def no_warnings(shape: Shape, params: Any) -> list[str]:
    return []


@dataclass(frozen=True)
class StageOp:
    name: str
    prepare: Prepare  # stage config -> params
    output_shape: OutputShape  # (input shape, params) -> output shape
    run: Run  # (backend, input array, params) -> output array, both the backend's own
    warnings: Warnings = no_warnings


OPS: dict[str, StageOp] = {}


def register(
    name: str,
    *,
    prepare: Prepare,
    output_shape: OutputShape,
    warnings: Warnings = no_warnings,
) -> Callable[[Run], Run]:
    """Decorator: register `run` as the op `name`."""

    def decorator(run: Run) -> Run:
        if name in OPS:
            raise ValueError(f"op {name!r} is registered twice")
        OPS[name] = StageOp(name, prepare, output_shape, run, warnings)
        return run

    return decorator


def _register_builtin_ops() -> None:
    # Importing the modules runs their @register decorators.
    from xopipe.ops import activation, conv, pad, pool  # noqa: F401


_register_builtin_ops()
