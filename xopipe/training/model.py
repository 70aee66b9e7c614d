"""The model a training run learns: the pipeline's weighted stages, then a linear head of votes.

A batch of B images [B, 1, H, W] goes through the pipeline as one map of
B x 1 channels: pool, pad and activation work channel by channel already,
and conv (its `batched` params) stacks the images into one tall image for a
single call of the backend (xopipe/ops/conv_batch.py) and gives the weight
gradient summed over the batch, so every backend trains with its own forward
and backward primitives, unchanged. The head (features in pipeline order, (channel, row,
col) row-major, then one row of votes per class), the softmax cross-entropy
and the sums over the batch are computed on the host in the run's dtype,
the same arithmetic for every backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xopipe.backends import Backend
from xopipe.backends.base import BackendArray
from xopipe.backward import chain_rule
from xopipe.experiment import Experiment
from xopipe.loss import terminal_stages

HEAD = "head"
Parameters = dict[str, np.ndarray]  # "<stage>.weight", "<stage>.bias", "head.weight", ...


@dataclass
class Step:
    loss: float  # the batch's mean cross-entropy
    correct: int  # images whose largest vote is their class
    probabilities: np.ndarray  # [B, classes]
    grads: Parameters | None = None  # dL/d every parameter, when asked


class Model:
    def __init__(self, experiment: Experiment, classes: tuple[str, ...]) -> None:
        self.experiment = experiment
        self.classes = classes
        self.dtype = experiment.dtype
        self.terminal = terminal_stages(experiment.pipeline)
        self.weighted = [
            name
            for name in experiment.pipeline.order
            if experiment.stages[name].op.weights(experiment.stages[name].params) is not None
        ]
        shapes = experiment.shapes
        self.features = int(sum(np.prod(shapes[name]) for name in self.terminal))

    def initial(self, seed: int) -> Parameters:
        """The stages' weights as configured, and a head drawn as torch.nn.Linear draws one."""
        params: Parameters = {}
        for name in self.weighted:
            stage = self.experiment.stages[name]
            weights = stage.op.weights(stage.params)
            assert weights is not None
            params[f"{name}.weight"] = weights.weight.astype(self.dtype)
            params[f"{name}.bias"] = weights.bias.astype(self.dtype)
        bound = 1.0 / np.sqrt(self.features)
        rng = np.random.default_rng(seed)
        shape = (len(self.classes), self.features)
        params[f"{HEAD}.weight"] = rng.uniform(-bound, bound, shape).astype(self.dtype)
        params[f"{HEAD}.bias"] = rng.uniform(-bound, bound, len(self.classes)).astype(self.dtype)
        return params

    def _stage_params(self, params: Parameters, count: int) -> dict[str, Any]:
        found = {}
        for name in self.experiment.pipeline.order:
            stage = self.experiment.stages[name]
            own = stage.params
            if name in self.weighted:
                assert stage.op.reweighted is not None, f"op {stage.op.name} cannot be trained"
                own = stage.op.reweighted(own, params[f"{name}.weight"], params[f"{name}.bias"])
            if stage.op.batched is not None:
                own = stage.op.batched(own, count)
            found[name] = own
        return found

    def step(
        self,
        backend: Backend,
        params: Parameters,
        images: np.ndarray,
        labels: np.ndarray,
        gradients: bool = True,
    ) -> Step:
        """The batch's loss, its correct answers and (with `gradients`) dL/d every parameter."""
        count = images.shape[0]
        stage_params = self._stage_params(params, count)
        x = backend.to_backend(images.reshape(-1, *images.shape[2:]).astype(self.dtype))

        def compute(spec: Any, source: BackendArray) -> BackendArray:
            op = self.experiment.stages[spec.name].op
            return op.forward(backend, source, stage_params[spec.name])

        kept = self.experiment.pipeline.run(x, compute)
        maps = [backend.to_host(kept[name]).reshape(count, -1) for name in self.terminal]
        features = np.concatenate(maps, axis=1)
        weight, bias = params[f"{HEAD}.weight"], params[f"{HEAD}.bias"]
        # A diverging run overflows here; the trainer stops on the loss it gives.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits = features @ weight.T + bias
            shifted = logits - logits.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            probabilities = exp / exp.sum(axis=1, keepdims=True)
            rows = np.arange(count)
            log_p = shifted[rows, labels] - np.log(exp.sum(axis=1))
            loss = float(-log_p.astype(np.float64).mean())
        correct = int((logits.argmax(axis=1) == labels).sum())
        if not gradients:
            return Step(loss, correct, probabilities)
        # d mean(-log softmax(z)[y]) / dz = (softmax(z) - onehot(y)) / B
        grad_logits = probabilities.copy()
        grad_logits[rows, labels] -= 1
        grad_logits /= self.dtype.type(count)
        grads: Parameters = {
            f"{HEAD}.weight": grad_logits.T @ features,
            f"{HEAD}.bias": grad_logits.sum(axis=0),
        }
        grad_features = grad_logits @ weight
        seeds: dict[str, BackendArray] = {}
        start = 0
        for name in self.terminal:
            size = maps[self.terminal.index(name)].shape[1]
            block = grad_features[:, start : start + size].reshape(kept[name].shape)
            seeds[name] = backend.to_backend(np.ascontiguousarray(block, dtype=self.dtype))
            start += size
        _, weight_grads = chain_rule(self.experiment, backend, kept, seeds, stage_params)
        for name in self.weighted:
            # Summed over the batch's images already (the op's batched backward).
            found = weight_grads[name]
            grads[f"{name}.weight"] = backend.to_host(found.weight)
            grads[f"{name}.bias"] = backend.to_host(found.bias)
        return Step(loss, correct, probabilities, grads)


def stage_weights(params: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{stage: (weight, bias)} with the head as a stage whose kernels are the classes:
    weight [classes, 1, 1, features], as weights.parquet stores any stage's."""
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key in params:
        name, kind = key.rsplit(".", 1)
        if kind != "weight":
            continue
        weight = params[key]
        if name == HEAD:
            weight = weight[:, None, None, :]
        found[name] = (weight, params[f"{name}.bias"])
    return found
