"""A stage's config node: its op's top-level node with the stage's own `params` on top.

A top-level node (`conv.*`) tunes every stage of its op except the keys a stage's
own `params` set; when one of several stages refuses such a key, the error says
so and names the override that sets one stage only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from xopipe.config import StageEntry
from xopipe.errors import UserError
from xopipe.ops import Op


def stage_node(
    base: Any, stage: str, op: Op, overrides: Mapping[str, Any]
) -> tuple[Any, Callable[[str], str]]:
    """The op's typed node with this stage's own `params` on top, and a key namer."""
    settings = {f.name for f in dataclasses.fields(base)}
    allowed = settings | op.stage_params
    for key in overrides:
        if key not in allowed:
            raise UserError(
                f"pipeline.stages.{stage}.params.{key} is not a setting of {op.name} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
    node = dataclasses.replace(base, **{k: v for k, v in overrides.items() if k in settings})

    def keyof(key: str) -> str:
        return f"pipeline.stages.{stage}.params.{key}" if key in overrides else f"{op.name}.{key}"

    return node, keyof


def _typed(value: Any) -> str:
    """A value as one command-line word: `2`, `[2,1]`, `same`, `0.5`."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_typed(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


def one_stage_only(
    error: UserError,
    stage: str,
    op: str,
    node: Any,
    entries: Mapping[str, StageEntry],
    order: list[str],
) -> UserError:
    """A top-level key (conv.stride) that one of the several stages it sets refused.

    The op's node sets every stage of that op, except the keys a stage's own
    `params` set; name that reach, and the override that sets one stage only.
    """
    for key in (f.name for f in dataclasses.fields(node)):
        if not re.search(rf"(?<![\w.]){op}\.{key}(?!\w)", str(error)):
            continue  # a key of the stage's own params, or not this key
        reached = [s for s in order if entries[s].op == op and key not in entries[s].params]
        other = next((s for s in reached if s != stage), None)
        if other is None:
            continue
        return UserError(
            f"{error}; {op}.{key} sets every {op} stage without its own {key} "
            f"({', '.join(reached)}), and {stage} refused it: to set it on {other} only, give "
            f"++pipeline.stages.{other}.params.{key}={_typed(getattr(node, key))}"
        )
    return error
