"""The backward cases: each backend's backward pass against torch's CPU autograd.

What is timed is the backward pass alone, on both sides, from a forward pass
made before the clock starts:
- `torch-autograd` (the reference): torch.nn.functional calls recorded by
  autograd once, then torch.autograd.grad(..., retain_graph=True) on that
  graph, for the input, the weights and the bias;
- a backend: for the seed pipeline, xopipe.backward.backpropagate as a run
  calls it, from the arrays execute(keep=True) left (dL/d every stage, the
  input and the weights, on the host); for conv alone and max pool alone,
  the backend's conv2d_backward or max_pool2d_backward on a random dL/dy (the
  pool given its forward's output, as a run's pool stage passes it).
Both sides differentiate the same numbers: the pipeline's input, kernels and
loss (L = the sum of pool and activation) come from one experiment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from xopipe.bench.cases import Case
from xopipe.bench.rounds import format_seconds, ratio
from xopipe.bench.tables import ratio_table

REFERENCE = "torch-autograd"
CONV_ARGS: dict[str, Any] = dict(
    stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, padding_mode="zeros"
)
POOL_ARGS: dict[str, Any] = dict(
    size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False
)


def _random(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


def _seed_experiment(case: Case) -> Any:
    from xopipe.config.compose import compose_config
    from xopipe.experiment import build_experiment

    shape = f"input.shape=[{case.size},{case.size}]"
    overrides = ["input=random", shape, f"dtype={case.dtype}", "loss=sum"]
    return build_experiment(compose_config(overrides))


def _conv_output(case: Case) -> tuple[int, ...]:
    return (case.kernels, case.size - 2, case.size - 2)


def _pool_output(case: Case) -> tuple[int, ...]:
    return (case.channels, case.size // 2, case.size // 2)


def reference_work(case: Case) -> Callable[[], object]:
    """torch.autograd.grad on a graph recorded once (the clock sees the backward alone)."""
    import torch
    import torch.nn.functional as F

    def leaf(array: np.ndarray) -> Any:
        return torch.from_numpy(np.ascontiguousarray(array)).requires_grad_()

    if case.op == "backward_max_pool":
        x = leaf(_random((case.channels, case.size, case.size), case.dtype, 0))
        grad = torch.from_numpy(_random(_pool_output(case), case.dtype, 1))
        y = F.max_pool2d(x[None], 2)[0]
        return lambda: torch.autograd.grad(y, [x], grad, retain_graph=True)
    if case.op == "backward_conv":
        x = leaf(_random((1, case.size, case.size), case.dtype, 0))
        w = leaf(_random((case.kernels, 1, 3, 3), case.dtype, 2))
        b = leaf(np.zeros(case.kernels, dtype=case.dtype))
        grad = torch.from_numpy(_random(_conv_output(case), case.dtype, 1))
        y = F.conv2d(x[None], w, b)[0]
        return lambda: torch.autograd.grad(y, [x, w, b], grad, retain_graph=True)
    experiment = _seed_experiment(case)
    params = experiment.stages["conv"].params
    x = leaf(experiment.source)
    w = leaf(params.weight.astype(case.dtype))
    b = leaf(params.bias.astype(case.dtype))
    conv = F.conv2d(x[None], w)[0] / 9 + b[:, None, None]  # the seed: sum / 9 + bias
    fill = (0, conv.shape[-1] % 2, 0, conv.shape[-2] % 2)
    pool = F.max_pool2d(F.pad(conv[None], fill), 2)[0]
    loss = pool.sum() + F.relu(conv).sum()
    return lambda: torch.autograd.grad(loss, [x, w, b], retain_graph=True)


def backend_work(case: Case, backend_name: str) -> Callable[[], object]:
    """The backend's backward pass, its inputs already on it."""
    from xopipe.backends import get_backend

    backend = get_backend(backend_name)
    if case.op == "backward_max_pool":
        x = backend.to_backend(_random((case.channels, case.size, case.size), case.dtype, 0))
        grad = backend.to_backend(_random(_pool_output(case), case.dtype, 1))
        y = backend.max_pool2d(x, **POOL_ARGS)
        return lambda: backend.to_host(backend.max_pool2d_backward(x, grad, output=y, **POOL_ARGS))
    if case.op == "backward_conv":
        x = backend.to_backend(_random((1, case.size, case.size), case.dtype, 0))
        weight = _random((case.kernels, 1, 3, 3), case.dtype, 2)
        grad = backend.to_backend(_random(_conv_output(case), case.dtype, 1))

        def conv() -> object:
            found = backend.conv2d_backward(x, weight, grad, divisor=None, **CONV_ARGS)
            return [backend.to_host(array) for array in found]

        return conv
    from xopipe.backward import backpropagate
    from xopipe.experiment import execute

    experiment = _seed_experiment(case)
    results = execute(experiment, backend, keep=True)
    return lambda: backpropagate(experiment, backend, results)


def backward_table(
    cases: list[Case],
    times: dict[str, dict[str, list[float]]],
    implementations: tuple[str, ...],
    ratios: bool = True,
) -> list[str]:
    """Each backend's median time with its ratio to torch autograd (median, lowest-highest
    over the rounds); `ratios=False` (--quick): the times alone."""
    return ratio_table(cases, times, REFERENCE, "torch autograd", implementations, ratios)


def goal_lines(cases: list[Case], times: dict[str, dict[str, list[float]]]) -> list[str]:
    """The issue's goals: numpy at most torch autograd's time for the same pipeline from 256^2
    up; the loop backend usable up to 64x64 (its time there). conv and max pool alone show
    where the pipeline's time goes: listed, not judged."""
    lines = []
    # From 256^2 inputs up: a pool case's size is its input's, a 256^2 conv's output (254).
    large = [case for case in cases if case.size >= 254 and times["numpy"][case.name]]
    for what, group in (
        ("the seed pipeline (goal)", [c for c in large if c.op == "backward_pipeline"]),
        ("ops alone (where the time goes)", [c for c in large if c.op != "backward_pipeline"]),
    ):
        met = [
            case
            for case in group
            if (found := ratio(times["numpy"][case.name], times[REFERENCE][case.name]))
            and found.median <= 1.0
        ]
        if group:
            above = ", ".join(case.name for case in group if case not in met) or "none"
            lines.append(
                f"- numpy backward / torch autograd <= 1.0 from 256^2 up, {what}: "
                f"{len(met)} of {len(group)} cases (by the median ratio; above: {above})"
            )
    for case in cases:
        if case.op == "backward_pipeline" and times["loop"].get(case.name):
            seconds = format_seconds(_median(times["loop"][case.name]))
            lines.append(f"- loop backend, {case.name}: {seconds} (goal: usable up to 64^2)")
    return lines


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None
