"""From a composed config to a checked experiment, and from there to results.

`build_experiment` does every check a config can fail (values, files,
shapes through the whole pipeline) before anything is computed;
`execute` then runs the stages on a backend.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from xopipe.backends import Backend
from xopipe.config import SCHEMAS
from xopipe.errors import UserError, invalid
from xopipe.inputs import load_input
from xopipe.kernels import KernelSet, load_kernels
from xopipe.ops import OPS, Shape, StageOp
from xopipe.ops.conv import fit_channels
from xopipe.pipeline import SOURCE, Pipeline, StageSpec
from xopipe.readers import Limits
from xopipe.strict import check_no_unknown_keys
from xopipe.values import to_plain


@dataclass(frozen=True)
class Stage:
    spec: StageSpec
    op: StageOp
    params: Any
    shape: Shape  # of its output


@dataclass(frozen=True)
class Experiment:
    source: np.ndarray  # [C, H, W]
    source_name: str
    kernels: KernelSet  # the top-level kernel set
    pipeline: Pipeline
    stages: dict[str, Stage]
    dtype: np.dtype

    @property
    def shapes(self) -> dict[str, Shape]:
        shapes: dict[str, Shape] = {SOURCE: self.source.shape}  # type: ignore[dict-item]
        shapes.update({name: stage.shape for name, stage in self.stages.items()})
        return shapes


@dataclass
class Results:
    arrays: dict[str, np.ndarray]  # `input` first, then stages in run order
    seconds: dict[str, float] = field(default_factory=dict)


def build_experiment(cfg: DictConfig) -> Experiment:
    """Check the whole config against the input and resolve every stage's parameters."""
    check_no_unknown_keys(cfg)
    dtype = np.dtype(cfg.dtype.value)
    limits = Limits(max_bytes=cfg.limits.max_file_bytes, max_cells=cfg.limits.max_input_cells)
    source = load_input(to_plain(cfg.input), dtype, limits)
    kernels = load_kernels(to_plain(cfg.kernels), "kernels", limits)
    stage_nodes = {name: _stage_entry(name, node) for name, node in cfg.pipeline.stages.items()}
    pipeline = Pipeline(
        [StageSpec(name, node["op"], node["input"]) for name, node in stage_nodes.items()], OPS
    )
    shapes: dict[str, Shape] = {SOURCE: source.shape}  # type: ignore[dict-item]
    stages: dict[str, Stage] = {}
    for name in pipeline.order:
        spec = pipeline.stages[name]
        op = OPS[spec.op]
        node, keyof = _stage_node(cfg, name, spec.op, stage_nodes[name]["params"])
        if spec.op == "conv":
            own = node.get("kernels")
            if own is not None:
                own = _typed_kernels_node(keyof("kernels"), own)
            node["kernels"] = (
                kernels if own is None else load_kernels(own, keyof("kernels"), limits)
            )
        params = op.prepare(node, keyof, dtype)
        if spec.op == "conv":  # 2-D kernels reach every channel of a multi-channel input
            params = fit_channels(params, shapes[spec.input][0])
        shapes[name] = op.output_shape(shapes[spec.input], params)
        stages[name] = Stage(spec, op, params, shapes[name])
    _check_unused_op_nodes(cfg, pipeline, kernels, dtype)
    _check_output_cells(shapes, cfg.limits.max_output_cells)
    return Experiment(source, str(cfg.input.name), kernels, pipeline, stages, dtype)


STAGE_KEYS = ("op", "input", "params")


def _check_unused_op_nodes(
    cfg: DictConfig, pipeline: Pipeline, kernels: KernelSet, dtype: np.dtype
) -> None:
    """A bad value stays a mistake even where no stage of this pipeline reads it."""
    used = {spec.op for spec in pipeline.stages.values()}
    for op in sorted(set(OPS) - used):
        node = dict(to_plain(cfg[op]))
        if op == "conv":
            node["kernels"] = kernels
        OPS[op].prepare(node, functools.partial("{}.{}".format, op), dtype)


def _check_output_cells(shapes: Mapping[str, Shape], limit: int) -> None:
    """Refuse a run whose outputs would not fit, before computing any of them."""
    total = sum(int(np.prod(shape)) for name, shape in shapes.items() if name != SOURCE)
    if total > limit:
        sizes = ", ".join(
            f"{name} {list(shape)}" for name, shape in shapes.items() if name != SOURCE
        )
        raise UserError(
            f"the stages would produce {total:,} cells ({sizes}), more than "
            f"limits.max_output_cells ({limit:,}); raise the limit or shrink the input"
        )


def _stage_entry(name: str, entry: Any) -> dict[str, Any]:
    """One pipeline.stages entry, checked: {op: str, input: str, params: dict}."""
    entry = to_plain(entry)
    key = f"pipeline.stages.{name}"
    if not isinstance(entry, dict):
        raise invalid(key, entry, "a mapping {op: ..., input: ...}")
    unknown = sorted(set(entry) - set(STAGE_KEYS))
    if unknown:
        raise UserError(
            f"{key} has an unknown key '{unknown[0]}' (allowed: {', '.join(STAGE_KEYS)})"
        )
    for field_name in ("op", "input"):
        if not isinstance(entry.get(field_name), str):
            raise invalid(f"{key}.{field_name}", entry.get(field_name), "a name")
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        raise invalid(f"{key}.params", params, "a mapping of settings, e.g. {stride: 2}")
    return {"op": entry["op"], "input": entry["input"], "params": params}


def _typed_kernels_node(key: str, node: Any) -> dict[str, Any]:
    """A stage's own `kernels` mapping, checked against the schema of its kind."""
    kinds = SCHEMAS["kernels"]
    if not isinstance(node, dict) or node.get("kind") not in kinds:
        kind = node.get("kind") if isinstance(node, dict) else node
        raise invalid(f"{key}.kind", kind, "one of " + ", ".join(kinds))
    try:
        typed = OmegaConf.merge(OmegaConf.structured(kinds[node["kind"]]), node)
        return OmegaConf.to_container(typed, throw_on_missing=True)  # type: ignore[return-value]
    except OmegaConfBaseException as error:
        field_name = getattr(error, "full_key", "") or "?"
        reason = str(error).splitlines()[0]
        raise UserError(f"{key}.{field_name}: {reason}") from None


def _stage_node(
    cfg: DictConfig, stage: str, op: str, overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], Callable[[str], str]]:
    """The op's config node with this stage's own `params` on top, and a key namer."""
    node: dict[str, Any] = dict(to_plain(cfg[op]))
    allowed = set(node) | ({"kernels"} if op == "conv" else set())
    for key in overrides:
        if key not in allowed:
            raise UserError(
                f"pipeline.stages.{stage}.params.{key} is not a setting of {op} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
    node.update(overrides)

    def keyof(key: str) -> str:
        return f"pipeline.stages.{stage}.params.{key}" if key in overrides else f"{op}.{key}"

    return node, keyof


def execute(experiment: Experiment, backend: Backend) -> Results:
    """Run every stage in order, timing each."""
    seconds: dict[str, float] = {}

    def compute(spec: StageSpec, x: np.ndarray) -> np.ndarray:
        stage = experiment.stages[spec.name]
        start = time.perf_counter()
        y = stage.op.run(backend, x, stage.params)
        seconds[spec.name] = time.perf_counter() - start
        assert y.shape == stage.shape, (spec.name, y.shape, stage.shape)
        assert y.dtype == experiment.dtype, (spec.name, y.dtype)
        return y

    arrays = experiment.pipeline.run(experiment.source, compute)
    return Results(arrays, seconds)
