"""The registry of ops by name: built-in ones are registered by xopipe.ops, others by
whoever defines them (a test, a plug-in) with `register`."""

from __future__ import annotations

from xopipe.ops.op import Op

OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    if op.name in OPS:
        raise ValueError(f"op {op.name!r} is registered twice")
    OPS[op.name] = op
    return op


def unregister(name: str) -> None:
    """Take an op out again (a test's own op, once the test is done)."""
    del OPS[name]
