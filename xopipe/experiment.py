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
from omegaconf import DictConfig

from xopipe.backends import FORWARD_ONLY, Backend
from xopipe.backends.base import BackendArray
from xopipe.chunked import checked_chunks, chunk_warnings
from xopipe.config import StageEntry, XopipeConfig, read_config
from xopipe.errors import UserError
from xopipe.gradients import Gradients
from xopipe.inputs import load_input
from xopipe.kernels import KernelSet, load_kernels
from xopipe.loss import Loss, read_loss
from xopipe.ops import OPS, Op, Shape, StageConfig
from xopipe.pipeline import SOURCE, Pipeline, StageSpec
from xopipe.readers import Limits
from xopipe.stage_node import one_stage_only, stage_node


@dataclass(frozen=True)
class Stage:
    spec: StageSpec
    op: Op
    params: Any
    shape: Shape  # of its output


@dataclass(frozen=True)
class Experiment:
    config: XopipeConfig  # the typed config it was built from
    source: np.ndarray  # [C, H, W]
    kernels: KernelSet  # the top-level kernel set
    pipeline: Pipeline
    stages: dict[str, Stage]
    dtype: np.dtype
    warnings: tuple[str, ...] = ()  # allowed but surprising settings, one line each
    loss: Loss | None = None  # what the backward pass differentiates; None: forward only

    @property
    def source_name(self) -> str:
        return self.config.input.name

    @property
    def shapes(self) -> dict[str, Shape]:
        shapes: dict[str, Shape] = {SOURCE: self.source.shape}  # type: ignore[dict-item]
        shapes.update({name: stage.shape for name, stage in self.stages.items()})
        return shapes

    def facts(self) -> dict[str, Any]:
        """What the manifest says of the experiment before it runs: input, kernels, order."""
        return {
            "input": {"name": self.source_name, "shape": list(self.source.shape)},
            "kernels": {
                "names": list(self.kernels.names),
                "shape": list(self.kernels.weight.shape),
            },
            "order": self.pipeline.order,
        }

    def stage_facts(self, results: Results) -> dict[str, dict[str, Any]]:
        """What the manifest says of each stage once it ran: op, input, shape, seconds."""
        stages: dict[str, dict[str, Any]] = {SOURCE: {"shape": list(self.source.shape)}}
        for name in self.pipeline.order:
            stage = self.stages[name]
            stages[name] = {
                "op": stage.spec.op,
                "input": stage.spec.input,
                "shape": list(stage.shape),
                "seconds": round(results.seconds[name], 6),
            }
        return stages


@dataclass
class Results:
    # `input` first, then stages in run order; a lazy backend's (dask) stay its own
    # arrays, computed where they are read (`compute`), never gathered whole here.
    arrays: dict[str, np.ndarray]
    seconds: dict[str, float] = field(default_factory=dict)
    # With execute(keep=True): the same arrays in the backend's own type (on its device).
    kept: dict[str, BackendArray] = field(default_factory=dict)
    # With a loss (the runner's backward pass): dL/d every array and weight.
    gradients: Gradients | None = None
    # A lazy backend's: computes some of its arrays together, as NumPy (None: all are NumPy).
    compute: Callable[..., tuple[np.ndarray, ...]] | None = None

    @property
    def lazy(self) -> bool:
        return self.compute is not None


Progress = Callable[[str, float], None]  # (stage, fraction done)


def build_experiment(cfg: DictConfig | XopipeConfig) -> Experiment:
    """Check the whole config against the input and resolve every stage's parameters.

    A composed DictConfig is turned into typed objects here, once; a typed
    config is used as it is.
    """
    config = cfg if isinstance(cfg, XopipeConfig) else read_config(cfg)
    dtype = np.dtype(config.dtype.value)
    limits = Limits(max_bytes=config.limits.max_file_bytes, max_cells=config.limits.max_input_cells)
    # A chunked backend (dask: backend.chunks) reads random, .npy and image inputs by chunk.
    chunks = getattr(config.backend, "chunks", None)
    if chunks is not None:
        chunks = checked_chunks(chunks)
    source = load_input(config.input, dtype, limits, chunks)
    kernels = load_kernels(config.kernels, "kernels", limits)
    entries: dict[str, StageEntry] = config.pipeline.stages
    pipeline = Pipeline(
        [StageSpec(name, entry.op, entry.input) for name, entry in entries.items()], OPS
    )
    shapes: dict[str, Shape] = {SOURCE: source.shape}  # type: ignore[dict-item]
    stages: dict[str, Stage] = {}
    warnings: list[str] = [] if chunks is None else chunk_warnings(source.shape, chunks)
    for name in pipeline.order:
        spec = pipeline.stages[name]
        op = OPS[spec.op]
        params = entries[name].params
        node, keyof = stage_node(_op_node(config, op), name, op, params)
        stage = StageConfig(node, keyof, dtype, kernels, params, shapes[spec.input], limits)
        try:
            prepared = op.prepare(stage)
            shapes[name] = op.output_shape(shapes[spec.input], prepared)
        except UserError as error:
            raise one_stage_only(error, name, spec.op, node, entries, pipeline.order) from None
        warnings.extend(op.warnings(shapes[spec.input], prepared))
        stages[name] = Stage(spec, op, prepared, shapes[name])
    _check_unused_op_nodes(config, pipeline, kernels, dtype)
    _check_output_cells(shapes, config.limits.max_output_cells)
    differentiable = {name: stage.op.backward is not None for name, stage in stages.items()}
    loss = read_loss(config.loss, pipeline, shapes, differentiable, dtype, limits)
    if loss is not None and config.backend.name in FORWARD_ONLY:
        raise UserError(
            f"backend={config.backend.name} computes the forward pass only; "
            f"loss={loss.kind} needs backend loop, numpy or torch"
        )
    return Experiment(config, source, kernels, pipeline, stages, dtype, tuple(warnings), loss)


def _check_unused_op_nodes(
    config: XopipeConfig, pipeline: Pipeline, kernels: KernelSet, dtype: np.dtype
) -> None:
    """A bad value stays a mistake even where no stage of this pipeline reads it."""
    used = {spec.op for spec in pipeline.stages.values()}
    for name in sorted(set(OPS) - used):
        keyof = functools.partial("{}.{}".format, name)
        OPS[name].prepare(StageConfig(_op_node(config, OPS[name]), keyof, dtype, kernels))


def _op_node(config: XopipeConfig, op: Op) -> Any:
    """The op's top-level node (conv.*), or its schema's defaults for an op that has none."""
    node = getattr(config, op.name, None)
    return op.schema() if node is None else node


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


def execute(
    experiment: Experiment,
    backend: Backend,
    *,
    progress: Progress | None = None,
    keep: bool = False,
) -> Results:
    """Run every stage in order, timing each; the arrays come back as NumPy.

    The input crosses to the backend once and the stages pass its own arrays
    (torch tensors on their device) to each other; each stage's output then
    crosses back once, at the end, for the sinks. `progress(stage, fraction)`
    hears a backend that reports within a stage (the loop backend, row by
    row). `keep=True` also keeps every array in the backend's own type
    (Results.kept), for work that goes back over them (the backward pass).
    A lazy backend's stages only build its graph here (their seconds are that):
    its arrays come back uncomputed, with its `compute` (Results.compute).
    """
    seconds: dict[str, float] = {}
    reports = progress if hasattr(backend, "progress") else None

    def compute(spec: StageSpec, x: BackendArray) -> BackendArray:
        stage = experiment.stages[spec.name]
        if reports is not None:
            backend.progress = functools.partial(_stage_progress, reports, spec.name)  # type: ignore[attr-defined]
        start = time.perf_counter()
        y = stage.op.forward(backend, x, stage.params)
        backend.wait()  # a GPU stage's seconds are its own, not the next one's
        seconds[spec.name] = time.perf_counter() - start
        assert tuple(y.shape) == stage.shape, (spec.name, y.shape, stage.shape)
        return y

    source = backend.to_backend(experiment.source)
    kept = experiment.pipeline.run(source, compute)
    lazy = getattr(backend, "lazy", False)
    arrays = {SOURCE: source if lazy else experiment.source}
    for name in experiment.pipeline.order:
        # each freed on the device once home, unless kept
        array = kept[name] if keep else kept.pop(name)
        arrays[name] = array if lazy else backend.to_host(array)
        assert arrays[name].dtype == experiment.dtype, (name, arrays[name].dtype)
    results = Results(arrays, seconds, {SOURCE: source, **kept} if keep else {})
    if lazy:
        results.compute = backend.compute  # type: ignore[attr-defined]
    return results


def _stage_progress(progress: Progress, stage: str, what: str, fraction: float) -> None:
    progress(stage, fraction)  # the stage's name, not the primitive's
