"""The loop backend's gradients against central finite differences, in float64.

An oracle that shares nothing with torch: dL/dx[i] ~ (L(x + h e_i) - L(x - h e_i)) / 2h
with L = sum(dL/dy * y), cell by cell, weights and bias too. The inputs stay away from
kinks (max-pool values far apart and from the fill's zero, activations away from 0 and
softplus's threshold), where a difference quotient has no one answer.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.backward_cases import random_grad
from xopipe.backends import get_backend

LOOP = get_backend("loop")
H = 1e-6


def _differences(f, x: np.ndarray, grad_y: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += H
        down[index] -= H
        out[index] = (np.sum(grad_y * f(up)) - np.sum(grad_y * f(down))) / (2 * H)
    return out


def _check(f, x, got, grad_y):
    expected = _differences(f, x, grad_y)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


CONVS = {
    "strided-dilated-mean": dict(
        stride=(2, 1),
        pads=(1, 2, 0, 1),
        dilation=(1, 2),
        groups=1,
        padding_mode="zeros",
        divisor=9.0,
    ),
    "reflect-groups": dict(
        stride=(1, 1),
        pads=(2, 1, 1, 2),
        dilation=(1, 1),
        groups=2,
        padding_mode="reflect",
        divisor=None,
    ),
    "circular-depthwise": dict(
        stride=(1, 2),
        pads=(1, 1, 2, 0),
        dilation=(2, 1),
        groups=4,
        padding_mode="circular",
        divisor=6.0,
    ),
    "replicate-stride-3": dict(
        stride=(3, 3),
        pads=(2, 2, 2, 2),
        dilation=(1, 1),
        groups=1,
        padding_mode="replicate",
        divisor=None,
    ),
}


@pytest.mark.parametrize("name", list(CONVS))
def test_conv_gradients_are_the_difference_quotients(name):
    args = CONVS[name]
    rng = np.random.default_rng(len(name))
    x = rng.uniform(-1, 1, (4, 6, 7))
    kernels = 8 if args["groups"] == 4 else 4
    weight = rng.uniform(-1, 1, (kernels, 4 // args["groups"], 2, 3))
    bias = rng.uniform(-1, 1, kernels)
    y = LOOP.conv2d(x, weight, bias, **args)
    grad_y = random_grad(y.shape, x.dtype, 1)
    grad_x, grad_weight, grad_bias = LOOP.conv2d_backward(x, weight, grad_y, **args)
    _check(lambda v: LOOP.conv2d(v, weight, bias, **args), x, grad_x, grad_y)
    _check(lambda w: LOOP.conv2d(x, w, bias, **args), weight, grad_weight, grad_y)
    _check(lambda b: LOOP.conv2d(x, weight, b, **args), bias, grad_bias, grad_y)


def _spread(shape, seed: int) -> np.ndarray:
    """Values 0.01 apart, none near 0: no window ties, none ties with a zero fill."""
    values = (np.random.default_rng(seed).permutation(int(np.prod(shape))) + 1) * 0.01
    return values.reshape(shape) - 0.005 - (0.5 if seed % 2 else 0.0)


MAX_POOLS = {
    "padding-dilation": dict(size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2)),
    "ceil-mode": dict(size=(2, 3), stride=(2, 2), padding=(0, 1), dilation=(1, 1)),
}


@pytest.mark.parametrize("name", list(MAX_POOLS))
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_max_pool_gradient_is_the_difference_quotient(name, ceil_mode):
    args = dict(MAX_POOLS[name], ceil_mode=ceil_mode)
    x = _spread((2, 7, 6), 3)
    y = LOOP.max_pool2d(x, **args)
    grad_y = random_grad(y.shape, x.dtype, 2)
    got = LOOP.max_pool2d_backward(x, grad_y, **args)
    _check(lambda v: LOOP.max_pool2d(v, **args), x, got, grad_y)


@pytest.mark.parametrize("include", [False, True])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_avg_pool_gradient_is_the_difference_quotient(include, ceil_mode):
    args = dict(size=(3, 2), stride=(2, 2), padding=(1, 1), ceil_mode=ceil_mode)
    x = np.random.default_rng(5).uniform(-1, 1, (2, 6, 7))
    y = LOOP.avg_pool2d(x, count_include_pad=include, **args)
    grad_y = random_grad(y.shape, x.dtype, 4)
    got = LOOP.avg_pool2d_backward(x.shape, grad_y, count_include_pad=include, **args)
    _check(lambda v: LOOP.avg_pool2d(v, count_include_pad=include, **args), x, got, grad_y)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradient_is_the_difference_quotient(mode):
    x = np.random.default_rng(6).uniform(-1, 1, (2, 4, 5))
    pads = (3, 1, 2, 3)
    y = LOOP.pad2d(x, pads, mode, 0.5)
    grad_y = random_grad(y.shape, x.dtype, 5)
    got = LOOP.pad2d_backward(grad_y, pads, mode, x.shape)
    _check(lambda v: LOOP.pad2d(v, pads, mode, 0.5), x, got, grad_y)


ACTIVATIONS = [
    ("relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {"alpha": 1.3}),
    ("gelu", {"approximate": "none"}),
    ("gelu", {"approximate": "tanh"}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("softplus", {"beta": 2.0, "threshold": 3.0}),
    ("identity", {}),
]


@pytest.mark.parametrize(("name", "params"), ACTIVATIONS, ids=lambda v: str(v))
def test_activation_gradient_is_the_difference_quotient(name, params):
    x = np.random.default_rng(7).uniform(-4, 4, (2, 4, 5))
    x[np.abs(x) < 0.1] += 0.2  # away from the kink at 0
    x[np.abs(2.0 * x - 3.0) < 0.1] += 0.2  # and from softplus's threshold
    grad_y = random_grad(x.shape, x.dtype, 6)
    got = LOOP.activation_backward(name, x, grad_y, params)
    _check(lambda v: LOOP.activation(name, v, params), x, got, grad_y)
