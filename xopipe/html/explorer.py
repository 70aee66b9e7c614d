"""What the explorer page carries: the run's arrays, kernels and the op settings.

The page's JavaScript engine (engine_*.js) prepares every stage again from the
op settings (so a control can change them) and checks nothing else: the
arrays are the run's own, exact, in the run's dtype.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from xopipe.config.vocabulary import vocabulary
from xopipe.experiment import Experiment
from xopipe.gradients import Gradients
from xopipe.ops import OPS
from xopipe.pipeline import SOURCE

# Cells (input and every stage together) the page holds: 4 Mi cells make a page
# of about 45 MB as float64; larger runs get the figures and a note instead.
MAX_CELLS = 4 * 1024 * 1024


def packed(array: np.ndarray, dtype: np.dtype) -> str:
    """Little-endian values in the run's dtype, base64: exact, and a third of JSON's size."""
    little = np.ascontiguousarray(array, dtype=dtype.newbyteorder("<"))
    return base64.b64encode(little.tobytes()).decode()


def _plain(value: Any) -> Any:
    """A config value as JSON: lists for tuples, an enum's value."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def op_settings(config: Any) -> dict[str, dict[str, Any]]:
    """Each op's config node (conv, pool, activation, pad) as configured, plain."""
    return {
        op: _plain(dataclasses.asdict(getattr(config, op)))
        for op in sorted(OPS)
        if getattr(config, op, None) is not None
    }


def stage_settings(config: Any) -> dict[str, dict[str, Any]]:
    """Each stage's own settings over its op's node (kernels travel as weights)."""
    return {
        name: {k: _plain(v) for k, v in entry.params.items() if k != "kernels"}
        for name, entry in config.pipeline.stages.items()
    }


def page_scripts() -> list[str]:
    """The explorer's scripts, inlined in this order: each uses only what those before it
    define. Between the engine's base and its pipeline, every registered op's own engine
    (engine_<op>.js) that ships here, in registry order, each followed by its backward
    step (engine_<op>_backward.js) where it has one."""
    here = Path(__file__).parent
    engines = [
        name
        for op in OPS.values()
        for name in (f"engine_{op.engine}.js", f"engine_{op.engine}_backward.js")
        if (here / f"engine_{op.engine}.js").is_file() and (here / name).is_file()
    ]
    return [
        "engine_geometry.js",
        "engine_sum.js",
        *engines,
        "engine_loss.js",
        "engine_pipeline.js",
        "explain_numbers.js",
        "explain_text.js",
        "explain_trace.js",
        "explain_routes.js",
        "explain_gradient.js",
        "explorer_data.js",
        "explorer_cells.js",
        "explorer_grids.js",
        "explorer_large.js",
        "explorer_select.js",
        "explorer_gradient.js",
        "explorer_kernels.js",
        "explorer_controls.js",
    ]


def total_cells(arrays: Mapping[str, np.ndarray]) -> int:
    return sum(int(a.size) for a in arrays.values())


def explorer_data(
    experiment: Experiment,
    arrays: Mapping[str, np.ndarray],
    op_settings: Mapping[str, Mapping[str, Any]],
    stage_settings: Mapping[str, Mapping[str, Any]],
    words: Mapping[str, str],
    gradients: Gradients | None = None,
) -> dict[str, Any]:
    """The page's JSON: input, every stage (op, input, own settings, values), op settings;
    with a loss, also the loss and dL/d the input and every stage (`grad`, packed as the
    values are). Without one, exactly the JSON of a run before losses existed."""
    dtype = experiment.dtype
    stages = []
    for name in experiment.pipeline.order:
        stage = experiment.stages[name]
        entry: dict[str, Any] = {
            "name": name,
            "op": stage.spec.op,
            "input": stage.spec.input,
            "shape": list(stage.shape),
            "params": {k: v for k, v in stage_settings.get(name, {}).items() if k != "kernels"},
            "data": packed(arrays[name], dtype),
        }
        if gradients is not None:
            entry["grad"] = packed(gradients.arrays[name], dtype)
        weights = stage.op.weights(stage.params)
        if weights is not None:
            entry["kernel"] = {
                "shape": list(weights.weight.shape),
                "names": list(weights.names),
                "data": packed(weights.weight, dtype),
            }
        stages.append(entry)
    source = arrays[SOURCE]
    given: dict[str, Any] = {"shape": list(source.shape), "data": packed(source, dtype)}
    data: dict[str, Any] = {
        "dtype": dtype.name,
        "words": dict(words),
        "config": {op: dict(node) for op, node in op_settings.items()},
        "vocabulary": vocabulary(),  # the choices and defaults the engine checks against
        "input": given,
        "stages": stages,
    }
    if gradients is not None:
        given["grad"] = packed(gradients.arrays[SOURCE], dtype)
        data["loss"] = {**gradients.facts(), "targets": dict(gradients.loss.target_files)}
    return data
