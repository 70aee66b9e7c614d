"""The backward pass through a pipeline: the chain rule, stage by stage, in reverse order.

Each stage's op knows its own backward step (dL/d its output -> dL/d its
input and its weights); this module only walks the DAG. A stage read by
several others (the seed's conv feeds both pool and activation) sums the
gradients they send back, in reverse run order, so every backend adds the
same terms in the same order. A stage the loss does not depend on gets a
gradient of zeros.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from xopipe.backends import Backend
from xopipe.backends.base import BackendArray
from xopipe.experiment import Experiment, Results
from xopipe.gradients import Gradients, WeightGradient
from xopipe.ops import WeightGradients
from xopipe.pipeline import SOURCE


def chain_rule(
    experiment: Experiment,
    backend: Backend,
    kept: Mapping[str, BackendArray],
    seeds: Mapping[str, BackendArray],
    params: Mapping[str, Any] | None = None,
    seconds: dict[str, float] | None = None,
) -> tuple[dict[str, BackendArray], dict[str, WeightGradients]]:
    """dL/d every stage's output and the input, and dL/d the weights, in the backend's arrays.

    `kept`: the forward's arrays (the input and every stage); `seeds`: dL/d the stages L
    reads directly. `params` replaces the stages' own (training passes a batch through
    them); `seconds` gets each stage's backward time. A stage L does not reach is absent.
    """
    pending = dict(seeds)
    grads: dict[str, BackendArray] = {}
    weights: dict[str, WeightGradients] = {}
    for name in reversed(experiment.pipeline.order):
        grad_y = pending.pop(name, None)
        if grad_y is None:  # L does not depend on this stage
            continue
        stage = experiment.stages[name]
        assert stage.op.backward is not None, name  # read_loss refused the run otherwise
        start = time.perf_counter()
        x, y = kept[stage.spec.input], kept[name]
        own = stage.params if params is None else params[name]
        grad_x, grad_w = stage.op.backward(backend, x, y, grad_y, own)
        backend.wait()
        if seconds is not None:
            seconds[name] = time.perf_counter() - start
        grads[name] = grad_y
        if grad_w is not None:
            weights[name] = grad_w
        source = stage.spec.input
        pending[source] = grad_x if source not in pending else pending[source] + grad_x
    if SOURCE in pending:
        grads[SOURCE] = pending[SOURCE]
    return grads, weights


def backpropagate(experiment: Experiment, backend: Backend, results: Results) -> Gradients:
    """dL/d every stage, the input and every weight, from a run made with execute(keep=True)."""
    loss = experiment.loss
    assert loss is not None, "backpropagate needs a loss (loss=sum or loss=mse)"
    assert results.kept, "backpropagate needs the backend's arrays: execute(..., keep=True)"
    seeds = {
        name: backend.to_backend(gradient)
        for name, gradient in loss.output_gradients(results.arrays).items()
    }
    seconds: dict[str, float] = {}
    grads, weights = chain_rule(experiment, backend, results.kept, seeds, seconds=seconds)
    arrays: dict[str, np.ndarray] = {}
    for name, shape in experiment.shapes.items():  # the input, then the stages in run order
        found = grads.get(name)
        arrays[name] = (
            np.zeros(shape, experiment.dtype) if found is None else backend.to_host(found)
        )
    host: dict[str, WeightGradient] = {}
    for name in experiment.pipeline.order:
        stage = experiment.stages[name]
        stored = stage.op.weights(stage.params)
        if stored is None:
            continue
        found_w = weights.get(name)
        host[name] = (
            WeightGradient(np.zeros(stored.weight.shape), np.zeros(stored.bias.shape))
            if found_w is None
            else WeightGradient(
                backend.to_host(found_w.weight).astype(np.float64),
                backend.to_host(found_w.bias).astype(np.float64),
            )
        )
    return Gradients(loss, loss.value(results.arrays), arrays, host, seconds)
