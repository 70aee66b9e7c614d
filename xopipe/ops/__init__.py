"""The ops a pipeline's stages use, each one descriptor (xopipe/ops/op.py) in its own module.

A pipeline prepares and shape-checks every stage before it runs any, so a
user's mistake stops the run before work starts. Importing this package
registers every module here that defines `OP`: the built-in ones first, in the
order the explorer page lists their controls, then any other in name order.
An op defined elsewhere (a test's, a plug-in's) is registered with `register(op)`.
"""

from __future__ import annotations

import importlib
import pkgutil

from xopipe.ops.op import Control, Op, Shape, StageConfig, WeightGradients, Weights
from xopipe.ops.registry import OPS, register, unregister

BUILTIN = ("conv", "pool", "activation", "pad")


def _register_modules() -> None:
    found = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.ispkg)
    for name in [*BUILTIN, *(m for m in found if m not in BUILTIN)]:
        op = getattr(importlib.import_module(f"{__name__}.{name}"), "OP", None)
        if isinstance(op, Op):
            register(op)


_register_modules()

__all__ = [
    "OPS",
    "Control",
    "Op",
    "Shape",
    "StageConfig",
    "WeightGradients",
    "Weights",
    "register",
    "unregister",
]
