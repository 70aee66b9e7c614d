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
from dataclasses import dataclass, field

import numpy as np

from xopipe.backends import Backend
from xopipe.backends.base import BackendArray
from xopipe.experiment import Experiment, Results
from xopipe.loss import Loss
from xopipe.pipeline import SOURCE


@dataclass(frozen=True)
class WeightGradient:
    """dL/d one stage's stored weights (before conv's /9), as NumPy: shaped as its Weights."""

    weight: np.ndarray  # [K, C, kh, kw]
    bias: np.ndarray  # [K]


@dataclass
class Gradients:
    loss: Loss
    value: float  # L, float64
    arrays: dict[str, np.ndarray]  # dL/d `input`, then dL/d every stage's output, in run order
    weights: dict[str, WeightGradient]  # for every stage that holds weights
    seconds: dict[str, float] = field(default_factory=dict)  # each stage's backward step

    def facts(self) -> dict:
        """For the manifest: the loss's kind, stages and value."""
        return self.loss.facts(self.value)


def backpropagate(experiment: Experiment, backend: Backend, results: Results) -> Gradients:
    """dL/d every stage, the input and every weight, from a run made with execute(keep=True)."""
    loss = experiment.loss
    assert loss is not None, "backpropagate needs a loss (loss=sum or loss=mse)"
    assert results.kept, "backpropagate needs the backend's arrays: execute(..., keep=True)"
    kept = results.kept
    pending: dict[str, BackendArray] = {
        name: backend.to_backend(gradient)
        for name, gradient in loss.output_gradients(results.arrays).items()
    }
    host: dict[str, np.ndarray] = {}
    weights: dict[str, WeightGradient] = {}
    seconds: dict[str, float] = {}
    for name in reversed(experiment.pipeline.order):
        stage = experiment.stages[name]
        grad_y = pending.pop(name, None)
        if grad_y is None:  # the loss does not depend on this stage
            host[name] = np.zeros(stage.shape, experiment.dtype)
            stored = stage.op.weights(stage.params)
            if stored is not None:
                weights[name] = _zero_weight_gradient(stored.weight, stored.bias)
            continue
        assert stage.op.backward is not None, name  # read_loss refused the run otherwise
        start = time.perf_counter()
        x, y = kept[stage.spec.input], kept[name]
        grad_x, grad_w = stage.op.backward(backend, x, y, grad_y, stage.params)
        backend.wait()
        seconds[name] = time.perf_counter() - start
        host[name] = backend.to_host(grad_y)
        if grad_w is not None:
            weights[name] = WeightGradient(
                backend.to_host(grad_w.weight).astype(np.float64),
                backend.to_host(grad_w.bias).astype(np.float64),
            )
        source = stage.spec.input
        pending[source] = grad_x if source not in pending else pending[source] + grad_x
    grad_input = pending.pop(SOURCE, None)
    host[SOURCE] = (
        np.zeros(experiment.source.shape, experiment.dtype)
        if grad_input is None
        else backend.to_host(grad_input)
    )
    arrays = {SOURCE: host[SOURCE], **{name: host[name] for name in experiment.pipeline.order}}
    ordered = {name: weights[name] for name in experiment.pipeline.order if name in weights}
    return Gradients(loss, loss.value(results.arrays), arrays, ordered, seconds)


def _zero_weight_gradient(weight: np.ndarray, bias: np.ndarray) -> WeightGradient:
    return WeightGradient(np.zeros(weight.shape), np.zeros(bias.shape))
