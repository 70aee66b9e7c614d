"""The ops a pipeline's stages use, each one descriptor (xopipe/ops/op.py) in its own module.

A pipeline prepares and shape-checks every stage before it runs any, so a
user's mistake stops the run before work starts. Importing this package
registers the built-in ops; another op is registered with `register(op)`.
"""

from __future__ import annotations

from xopipe.ops import activation, conv, pad, pool
from xopipe.ops.op import Control, Op, Shape, StageConfig, Weights
from xopipe.ops.registry import OPS, register, unregister

# In this order the explorer page lists their controls.
for _builtin in (conv.OP, pool.OP, activation.OP, pad.OP):
    register(_builtin)

__all__ = ["OPS", "Control", "Op", "Shape", "StageConfig", "Weights", "register", "unregister"]
