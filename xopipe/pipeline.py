"""A pipeline: named stages, each reading one other stage, run in dependency order.

The stages form a small DAG (the seed's pool and activation both read conv).
It is checked when built: unknown op, unknown input, a duplicate or reserved
name, a cycle. The source is the stage called `input`.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from xopipe.errors import UserError

SOURCE = "input"


@dataclass(frozen=True)
class StageSpec:
    name: str
    op: str
    input: str


class Pipeline:
    """Stages in a valid dependency order; `order` lists them as they will run."""

    def __init__(self, stages: Sequence[StageSpec], ops: Collection[str]) -> None:
        self.stages: dict[str, StageSpec] = {}
        for spec in stages:
            if spec.name == SOURCE:
                raise UserError(
                    f"pipeline.stages: '{SOURCE}' is the source image; name the stage otherwise"
                )
            if spec.name in self.stages:
                raise UserError(f"pipeline.stages: the name '{spec.name}' is used twice")
            if spec.op not in ops:
                allowed = ", ".join(sorted(ops))
                raise UserError(
                    f"pipeline.stages.{spec.name}.op must be one of {allowed}, got '{spec.op}'"
                )
            self.stages[spec.name] = spec
        for spec in stages:
            if spec.input != SOURCE and spec.input not in self.stages:
                names = ", ".join([SOURCE, *self.stages])
                raise UserError(
                    f"pipeline.stages.{spec.name}.input must be one of {names}, got '{spec.input}'"
                )
        if not self.stages:
            raise UserError("pipeline.stages must name at least one stage")
        self.order: list[str] = self._sorted()

    def _sorted(self) -> list[str]:
        """Dependency order; among stages ready together, the order they were declared."""
        rank = {name: i for i, name in enumerate(self.stages)}
        sorter = graphlib.TopologicalSorter(
            {
                name: [spec.input] if spec.input != SOURCE else []
                for name, spec in self.stages.items()
            }
        )
        try:
            sorter.prepare()
        except graphlib.CycleError as error:
            cycle = " -> ".join(error.args[1])
            raise UserError(
                f"pipeline.stages has a cycle: {cycle}; every stage must lead back to '{SOURCE}'"
            ) from None
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=rank.__getitem__)
            order.extend(ready)
            sorter.done(*ready)
        return order

    def run(self, source: Any, compute: Callable[[StageSpec, Any], Any]) -> dict[str, Any]:
        """Every stage's output, keyed by name, with the source as `input`.

        Arrays pass from stage to stage as `compute` returns them (a backend's
        own type); converting them is the caller's business.
        """
        results = {SOURCE: source}
        for name in self.order:
            spec = self.stages[name]
            results[name] = compute(spec, results[spec.input])
        return results
