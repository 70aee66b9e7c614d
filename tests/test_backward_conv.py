"""conv's backward: dL/dx, dL/dweights and dL/dbias as torch.autograd gives them, on every backend.

The forward property cases (tests/property_cases.py: every padding mode,
stride, dilation, groups, normalize=mean, flip, asymmetric kernels) replayed
backward; weight gradients are with respect to the weights as passed (flipped
with conv.flip, before the / divisor of normalize=mean).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given

from tests.backward_cases import Compared, assert_close, autograd, random_grad, run_backward
from tests.property_cases import GRADIENT_BACKENDS, REFUSED_MIN, SETTINGS, conv_cases, conv_example
from xopipe.backends import get_backend
from xopipe.errors import UserError
from xopipe.kernels import KernelSet


def _conv_grads(case, x, weight, bias, grad_y):
    """nn.Conv2d with the case's settings, differentiated: [dL/dx, dL/dweight, dL/dbias]."""
    c = case

    def compute(xt, wt, bt):
        module = nn.Conv2d(
            c["channels"],
            c["kernels"],
            c["size"],
            stride=c["stride"],
            padding=c["padding"],
            dilation=c["dilation"],
            groups=c["groups"],
            bias=False,
            padding_mode=c["padding_mode"],
            dtype=xt.dtype,
        )
        del module.weight  # the weight as passed, a tensor autograd differentiates
        module.weight = wt
        out = module(xt[None])[0]
        if c["normalize"] == "mean":
            out = out / (weight.shape[1] * weight.shape[2] * weight.shape[3])
        return out + bt[:, None, None]

    return autograd(compute, [x, weight, bias], grad_y)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # the oracle's
@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_conv_backward_matches_autograd(backend):
    tally = Compared()

    @SETTINGS
    @given(case=conv_cases())
    def check(case):
        x, weight, bias, node = conv_example(case)
        ours = run_backward("conv", node, x, backend, case["seed"])
        tally.note(case, refused=isinstance(ours, UserError))
        if isinstance(ours, UserError):
            return
        passed = weight[..., ::-1, ::-1] if case["flip"] else weight  # what conv was given
        passed, bias = passed.astype(x.dtype), bias.astype(x.dtype)
        theirs = _conv_grads(case, x, passed, bias, ours.grad_y)
        assert not isinstance(theirs, Exception), f"torch refused ({theirs}) but xopipe ran"
        for what, got, expected in zip(
            ("dL/dx", "dL/dweight", "dL/dbias"),
            (ours.grad_x, ours.grad_weight, ours.grad_bias),
            theirs,
            strict=True,
        ):
            assert_close(got, expected, case["dtype"], what)

    check()
    tally.check(refused_at_least=REFUSED_MIN)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_a_2d_kernel_on_three_channels_has_the_stored_weights_gradient(backend, dtype):
    """A one-channel kernel is repeated across the channels (and normalize=mean divides by
    27): its gradient is per stored channel, the shape weights.parquet holds."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (3, 6, 7)).astype(dtype)
    kernels = rng.uniform(-1, 1, (2, 1, 3, 2))
    node = {
        "kernels": KernelSet(kernels, ("a", "b")),
        "bias": [0.5, -0.25],
        "stride": [1, 2],
        "padding": 1,
        "dilation": 1,
        "padding_mode": "reflect",
        "groups": 1,
        "normalize": "mean",
        "flip": False,
    }
    ours = run_backward("conv", node, x, backend, 9)
    stored = np.repeat(kernels, 3, axis=1).astype(dtype)
    theirs = autograd(
        lambda xt, wt, bt: (
            F.conv2d(F.pad(xt[None], (1, 1, 1, 1), mode="reflect"), wt, None, (1, 2))[0] / 18
            + bt[:, None, None]
        ),
        [x, stored, np.array([0.5, -0.25], dtype=dtype)],
        ours.grad_y,
    )
    assert ours.grad_weight.shape == (2, 3, 3, 2)
    for got, expected in zip((ours.grad_x, ours.grad_weight, ours.grad_bias), theirs, strict=True):
        assert_close(got, expected, dtype, "rgb")


# conv.padding_mode -> F.pad's mode
TORCH_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_conv2d_backward_primitive_depthwise_with_a_divisor(backend, mode):
    """The primitive itself: depthwise groups, asymmetric kernel and pads, stride, dilation."""
    rng = np.random.default_rng(21)
    x = rng.uniform(-1, 1, (3, 9, 8))
    weight = rng.uniform(-1, 1, (6, 1, 2, 3))
    args = dict(stride=(2, 1), pads=(2, 1, 0, 3), dilation=(1, 2), groups=3, padding_mode=mode)
    chosen = get_backend(backend)
    y_shape = get_backend("numpy").conv2d(x, weight, np.zeros(6), divisor=4.0, **args).shape
    grad = random_grad(y_shape, x.dtype, 3)
    got = chosen.conv2d_backward(
        chosen.to_backend(x), weight, chosen.to_backend(grad), divisor=4.0, **args
    )
    theirs = autograd(
        lambda xt, wt: (
            F.conv2d(
                F.pad(xt[None], (2, 1, 0, 3), mode=TORCH_MODE[mode]), wt, None, (2, 1), 0, (1, 2), 3
            )
            / 4.0
        )[0],
        [x, weight],
        grad,
    )
    assert_close(chosen.to_host(got[0]), theirs[0], "float64", "dL/dx")
    assert_close(chosen.to_host(got[1]), theirs[1], "float64", "dL/dweight")
    # The bias is added after the division: its gradient is the whole sum of each map.
    assert_close(chosen.to_host(got[2]), grad.sum(axis=(1, 2)), "float64", "dL/dbias")


def test_torch_backward_reads_forward_tensors_made_under_inference_mode():
    """The forward's tensors are inference tensors; the backward must still take them."""
    torch_backend = get_backend("torch")
    x = torch_backend.to_backend(np.random.default_rng(2).uniform(-1, 1, (1, 5, 5)))
    weight, bias = np.ones((1, 1, 2, 2)), np.zeros(1)
    args = dict(stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, padding_mode="zeros")
    y = torch_backend.conv2d(x, weight, bias, divisor=None, **args)
    assert y.is_inference()
    with torch.inference_mode():  # a caller inside inference mode too
        grad_x, grad_weight, _ = torch_backend.conv2d_backward(
            y, weight, torch.ones(1, 3, 3, dtype=y.dtype), divisor=None, **args
        )
    np.testing.assert_array_equal(
        grad_x.numpy()[0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]
    )
    windows = [[y[0, a : a + 3, b : b + 3].sum() for b in range(2)] for a in range(2)]
    np.testing.assert_allclose(grad_weight.numpy()[0, 0], windows, rtol=1e-12)
