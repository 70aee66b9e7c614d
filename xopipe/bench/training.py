"""The training case: one epoch of xopipe-train's default, on each backend and in plain torch.

One epoch as xopipe-train runs it: the default data (200 train and 100 test
images of 9x9, seeded), an SGD step per batch of 16 in the epoch's shuffled
order (13 steps), then the loss and accuracy of both splits. Both sides start
from the same weights (the seeded random kernels and head) and run in float64:
- `torch-nn` (the reference): the same model written as a torch.nn.Module
  (conv / 9 + bias, zero fill and 2x2 max pool, relu, a Linear head over both),
  F.cross_entropy, autograd and torch.optim.SGD, on the CPU;
- a backend: xopipe.training.trainer.run_epoch, as xopipe-train calls it.
Each timed call is the next epoch of the same run (the weights go on learning).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from xopipe.bench.cases import Case, training_cases
from xopipe.bench.rounds import ratio, time_in_rounds
from xopipe.bench.tables import IN_MEMORY, ratio_table

REFERENCE = "torch-nn"


def _setup(overrides: list[str]) -> tuple[Any, Any, Any]:
    """The default training's config, data and model (with `overrides`)."""
    from xopipe.config import read_config
    from xopipe.config.compose import compose_config
    from xopipe.config.train_schema import TrainConfig
    from xopipe.training.run import prepare

    config = read_config(compose_config(overrides, config_name="train"))
    assert isinstance(config, TrainConfig), type(config)
    data, model = prepare(config)
    return config, data, model


def backend_work(case: Case, backend_name: str) -> Callable[[], object]:
    """One epoch of run_epoch on `backend_name`, from where the last call left the weights."""
    from xopipe.backends import get_backend
    from xopipe.training.optim import SGD
    from xopipe.training.trainer import run_epoch

    config, data, model = _setup([f"dtype={case.dtype}"])
    backend = get_backend(backend_name)
    params = model.initial(config.head.seed)
    optimizer = SGD(config.optim)
    return lambda: run_epoch(model, backend, data, config.train, optimizer, params, 1)


def reference_model(params: dict[str, np.ndarray]) -> Any:
    """The seed pipeline and its head as a torch.nn.Module holding copies of `params`."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class SeedNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 3, 3)
            self.head = nn.Linear(*params["head.weight"].shape[::-1])

        def forward(self, x: Any) -> Any:
            bias: Any = self.conv.bias  # a Conv2d made with bias=True has one
            conv = F.conv2d(x, self.conv.weight) / 9 + bias[None, :, None, None]
            pool = F.max_pool2d(F.pad(conv, (0, conv.shape[-1] % 2, 0, conv.shape[-2] % 2)), 2)
            return self.head(torch.cat([pool.flatten(1), F.relu(conv).flatten(1)], dim=1))

    net = SeedNet().double()
    with torch.no_grad():
        for name, value in net.named_parameters():
            value.copy_(torch.from_numpy(params[name]))
    return net


def reference_work(case: Case) -> Callable[[], object]:
    """The same epoch in plain torch: its steps, then both splits scored without gradients."""
    import torch
    import torch.nn.functional as F

    config, data, model = _setup([f"dtype={case.dtype}"])
    net = reference_model(model.initial(config.head.seed))
    node, optim = config.train, config.optim
    sgd = torch.optim.SGD(
        net.parameters(), lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay
    )
    splits = {}
    for split in ("train", "test"):
        images, labels = data.part(split)
        splits[split] = (torch.from_numpy(images), torch.from_numpy(labels))
    x, y = splits["train"]
    order = torch.from_numpy(np.random.default_rng([node.seed, 1]).permutation(len(y)))

    def epoch() -> tuple[dict[str, tuple[float, float]], Any]:
        for first in range(0, len(y), node.batch_size):
            batch = order[first : first + node.batch_size]
            sgd.zero_grad()
            F.cross_entropy(net(x[batch]), y[batch]).backward()
            sgd.step()
        scores = {}
        with torch.no_grad():
            for split, (images, labels) in splits.items():
                logits = net(images)
                accuracy = (logits.argmax(dim=1) == labels).double().mean()
                scores[split] = (float(F.cross_entropy(logits, labels)), float(accuracy))
        return scores, net

    return epoch


def section(repeats: int, threads: int, rounds: int, ratios: bool) -> list[str]:
    """The report's training section: the epoch timed in rounds, then its table."""
    (case,) = training_cases([])
    implementations = (REFERENCE, *IN_MEMORY)
    # An epoch takes a hundred times a kernel's call: fewer repeats say as much.
    times = time_in_rounds(
        "training", implementations, [case.name], [], min(repeats, 7), threads, rounds
    )
    return [
        "",
        "## Training: one epoch, against plain torch",
        "",
        "One epoch of xopipe-train's default, from the same weights: 200 train and 100 test "
        "images 9x9, 13 SGD steps of 16, then the loss and accuracy of both splits, float64; "
        "the model as a torch.nn.Module with autograd and torch.optim.SGD on the CPU, "
        "against each backend through xopipe.training. In brackets: the ratio to plain "
        "torch (median of the rounds' ratios, lowest-highest); the loop backend in 3 repeats.",
        "",
        *training_table(case, times, tuple(IN_MEMORY), ratios),
    ]


def training_table(
    case: Case, times: dict[str, dict[str, list[float]]], backends: tuple[str, ...], ratios: bool
) -> list[str]:
    """One row: plain torch's epoch, each backend's with its ratio to it (median,
    lowest-highest over the rounds); `ratios=False` (--quick): the times alone."""
    lines = ratio_table([case], times, REFERENCE, "plain torch", backends, ratios)
    if ratios and (found := ratio(times["numpy"][case.name], times[REFERENCE][case.name])):
        met = "met" if found.median <= 1.0 else "not met"
        lines += ["", f"- numpy epoch / plain torch epoch <= 1.0 (goal): {found.median:.2f}, {met}"]
    return lines
