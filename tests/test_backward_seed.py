"""The seed's gradients, cell by cell, on every backend and dtype, against torch.autograd.

The seed's DAG (input -> conv (the X kernels, / 9) -> pool (2x2 max, zero fill to 8x8),
conv -> relu) with L = the sum of every cell of pool and activation: dL/d input, dL/d conv
and dL/d the stored weights and bias, each through the ops' own `backward`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.backward_cases import TOL
from xopipe.backends import BACKENDS, FORWARD_ONLY, get_backend
from xopipe.experiment import build_experiment, execute

# The seed's conv map has 48 pool windows (3 kernels, 4x4 over the filled 8x8); in 5 of
# them the maximum appears twice, and the first in row-major order takes the gradient.
TIED_WINDOWS = 5


def _ours(make_config, backend: str, dtype: str):
    experiment = build_experiment(make_config(f"dtype={dtype}"))
    chosen = get_backend(backend)
    kept = execute(experiment, chosen, keep=True).kept
    conv, pool, activation = (experiment.stages[n] for n in ("conv", "pool", "activation"))

    def ones(stage) -> object:  # dL/d each cell of a terminal stage is 1: L sums them
        return chosen.to_backend(np.ones(stage.shape, dtype=dtype))

    from_pool, _ = pool.op.backward(chosen, kept["conv"], kept["pool"], ones(pool), pool.params)
    from_relu, _ = activation.op.backward(
        chosen, kept["conv"], kept["activation"], ones(activation), activation.params
    )
    grad_conv = from_pool + from_relu  # conv feeds both: its gradient is the sum
    grad_input, weights = conv.op.backward(
        chosen, kept["input"], kept["conv"], grad_conv, conv.params
    )
    host = chosen.to_host
    return {
        "input": host(grad_input),
        "conv": host(grad_conv),
        "weight": host(weights.weight),
        "bias": host(weights.bias),
    }, conv.params.weight


def _autograd(seed_expected, dtype: str):
    kind = getattr(torch, dtype)
    x = torch.tensor(seed_expected["input"], dtype=kind, requires_grad=True)
    weight = torch.tensor(seed_expected["kernels"][:, None], dtype=kind, requires_grad=True)
    bias = torch.zeros(3, dtype=kind, requires_grad=True)
    conv = F.conv2d(x[None], weight)[0] / 9 + bias[:, None, None]
    conv.retain_grad()
    pool = F.max_pool2d(F.pad(conv[None], (0, 1, 0, 1)), 2)[0]
    (pool.sum() + F.relu(conv).sum()).backward()
    return {
        "input": x.grad.numpy(),
        "conv": conv.grad.numpy(),
        "weight": weight.grad.numpy(),
        "bias": bias.grad.numpy(),
    }


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b not in FORWARD_ONLY])
def test_seed_gradients_match_autograd_cell_by_cell(make_config, seed_expected, backend, dtype):
    ours, stored = _ours(make_config, backend, dtype)
    theirs = _autograd(seed_expected, dtype)
    # The weights differentiated are the stored ones, before the / 9.
    np.testing.assert_array_equal(stored[:, 0], seed_expected["kernels"])
    for what in ("input", "conv", "weight", "bias"):
        assert ours[what].dtype == np.dtype(dtype), what
        assert ours[what].shape == theirs[what].shape, what
        np.testing.assert_allclose(
            ours[what], theirs[what], rtol=TOL[dtype], atol=TOL[dtype], err_msg=what
        )


def test_the_tie_rule_decides_the_seeds_numbers(make_config, seed_expected):
    """Were ties to go to the last maximum, dL/d conv would differ in the tied windows."""
    conv = seed_expected["conv"]
    filled = np.pad(conv, ((0, 0), (0, 1), (0, 1)))
    windows = filled.reshape(3, 4, 2, 4, 2).transpose(0, 1, 3, 2, 4).reshape(3, 4, 4, 4)
    tied = (windows == windows.max(axis=-1, keepdims=True)).sum(axis=-1) > 1
    assert int(tied.sum()) == TIED_WINDOWS
    ours, _ = _ours(make_config, "numpy", "float64")
    relu = (conv > 0).astype(float)
    first = np.zeros((3, 8, 8))
    last = np.zeros((3, 8, 8))
    for k, i, j in np.ndindex(3, 4, 4):
        flat = windows[k, i, j]
        winners = np.flatnonzero(flat == flat.max())
        for target, pick in ((first, winners[0]), (last, winners[-1])):
            a, b = divmod(int(pick), 2)
            target[k, 2 * i + a, 2 * j + b] += 1
    np.testing.assert_array_equal(ours["conv"], first[:, :7, :7] + relu)
    assert (first[:, :7, :7] != last[:, :7, :7]).any()
