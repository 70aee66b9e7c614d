"""Backend conformance: loop and numpy against torch.nn.functional as the oracle.

Random inputs and asymmetric kernels (a flipped-kernel bug shows on them,
not on the seed's symmetric X kernels), with stride, padding, dilation and
groups varied.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.backend_calls import on_host
from xopipe.backends import BACKENDS as REGISTERED
from xopipe.backends import get_backend

BACKENDS = list(REGISTERED)  # every registered backend, a new one included
TOL = {np.float64: 1e-12, np.float32: 1e-5}

CONV_CASES = [
    # (C, H, W, K, kh, kw, stride, padding(l, r, t, b), dilation, groups)
    (1, 9, 9, 3, 3, 3, (1, 1), (0, 0, 0, 0), (1, 1), 1),
    (1, 12, 10, 2, 2, 3, (2, 1), (1, 1, 1, 1), (1, 1), 1),
    (3, 11, 13, 4, 3, 2, (1, 2), (2, 2, 0, 0), (2, 1), 1),
    (4, 10, 10, 6, 3, 3, (2, 2), (1, 1, 2, 2), (1, 2), 2),
    (2, 7, 16, 2, 1, 5, (3, 1), (0, 0, 3, 3), (1, 1), 2),
    (1, 5, 5, 1, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1), 1),
]


def _oracle_conv(x, w, b, stride, pads, dilation, groups, mode):
    batch = torch.from_numpy(x)[None]
    batch = F.pad(batch, pads, mode="constant" if mode == "zeros" else mode)
    return F.conv2d(batch, torch.from_numpy(w), torch.from_numpy(b), stride, 0, dilation, groups)[
        0
    ].numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_matches_torch(backend, case, mode, dtype):
    c, h, w, k, kh, kw, stride, pads, dilation, groups = case
    rng = np.random.default_rng(hash((c, h, w, k)) % 2**32)
    x = rng.uniform(-1, 1, (c, h, w)).astype(dtype)
    weight = rng.uniform(-1, 1, (k, c // groups, kh, kw)).astype(dtype)
    bias = rng.uniform(-1, 1, k).astype(dtype)
    expected = _oracle_conv(x, weight, bias, stride, pads, dilation, groups, mode)
    got = on_host(
        get_backend(backend),
        "conv2d",
        x,
        weight,
        bias,
        stride=stride,
        pads=pads,
        dilation=dilation,
        groups=groups,
        padding_mode=mode,
        divisor=None,
    )
    assert got.dtype == dtype
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_divides_before_adding_bias(backend):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (2, 6, 6))
    weight = rng.uniform(-1, 1, (3, 2, 2, 3))
    bias = np.array([0.5, -1.0, 2.0])
    plain = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(weight))[0].numpy()
    got = on_host(
        get_backend(backend),
        "conv2d",
        x,
        weight,
        bias,
        stride=(1, 1),
        pads=(0, 0, 0, 0),
        dilation=(1, 1),
        groups=1,
        padding_mode="zeros",
        divisor=12.0,
    )
    np.testing.assert_allclose(got, plain / 12.0 + bias[:, None, None], rtol=1e-12, atol=1e-12)


def test_asymmetric_kernel_is_not_flipped():
    """Cross-correlation: output[0, 0] is the window times the kernel, unflipped."""
    x = np.arange(9, dtype=np.float64).reshape(1, 3, 3)
    weight = np.array([[[[1.0, 0.0], [0.0, 0.0]]]])  # picks the window's top-left cell
    for backend in BACKENDS:
        got = on_host(
            get_backend(backend),
            "conv2d",
            x,
            weight,
            np.zeros(1),
            stride=(1, 1),
            pads=(0, 0, 0, 0),
            dilation=(1, 1),
            groups=1,
            padding_mode="zeros",
            divisor=None,
        )
        np.testing.assert_array_equal(got[0], [[0.0, 1.0], [3.0, 4.0]], err_msg=backend)


POOL_CASES = [
    # (C, H, W, size, stride, padding, dilation, ceil_mode)
    ((3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 7, 7), (2, 2), (2, 2), (0, 0), (1, 1), True),
    ((2, 9, 11), (3, 2), (2, 3), (1, 1), (1, 1), False),
    ((2, 9, 11), (3, 3), (2, 2), (1, 1), (2, 1), True),
    ((1, 5, 6), (2, 3), (1, 1), (1, 0), (1, 2), True),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool_matches_torch(backend, case, dtype):
    shape, size, stride, padding, dilation, ceil_mode = case
    # All-negative input: where -inf padding and a zero fill would differ.
    x = -np.random.default_rng(5).uniform(0.1, 1, shape).astype(dtype)
    expected = F.max_pool2d(
        torch.from_numpy(x)[None], size, stride, padding, dilation, ceil_mode=ceil_mode
    )[0].numpy()
    got = on_host(
        get_backend(backend),
        "max_pool2d",
        x,
        size=size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_avg_pool_matches_torch(backend, case, count_include_pad):
    shape, size, stride, padding, _, ceil_mode = case
    x = np.random.default_rng(6).uniform(-1, 1, shape)
    expected = F.avg_pool2d(
        torch.from_numpy(x)[None],
        size,
        stride,
        padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )[0].numpy()
    got = on_host(
        get_backend(backend),
        "avg_pool2d",
        x,
        size=size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


TORCH_CASES = [
    ("relu", {}, F.relu),
    ("leaky_relu", {"negative_slope": 0.2}, lambda t: F.leaky_relu(t, 0.2)),
    ("elu", {"alpha": 1.5}, lambda t: F.elu(t, 1.5)),
    ("gelu", {"approximate": "none"}, lambda t: F.gelu(t)),
    ("gelu", {"approximate": "tanh"}, lambda t: F.gelu(t, approximate="tanh")),
    ("sigmoid", {}, torch.sigmoid),
    ("tanh", {}, torch.tanh),
    ("softplus", {"beta": 2.0, "threshold": 3.0}, lambda t: F.softplus(t, 2.0, 3.0)),
    ("identity", {}, lambda t: t),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("name", "params", "oracle"),
    TORCH_CASES,
    ids=[f"{a[0]}-{i}" for i, a in enumerate(TORCH_CASES)],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_activation_matches_torch(backend, name, params, oracle, dtype):
    # Wide range: large |x| is where overflow-prone formulas break.
    x = np.random.default_rng(7).uniform(-40, 40, (2, 5, 6)).astype(dtype)
    expected = oracle(torch.from_numpy(x)).numpy()
    chosen = get_backend(backend)
    got = chosen.to_host(chosen.activation(name, chosen.to_backend(x), params))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_pad_matches_torch(backend, mode):
    x = np.random.default_rng(8).uniform(-1, 1, (2, 4, 5))
    pads = (2, 1, 0, 3)
    value = 0.5 if mode == "constant" else 0.0
    kwargs = {"value": value} if mode == "constant" else {}
    expected = F.pad(torch.from_numpy(x)[None], pads, mode=mode, **kwargs)[0].numpy()
    got = on_host(get_backend(backend), "pad2d", x, pads, mode, value)
    np.testing.assert_array_equal(got, expected)


def test_every_backend_implements_every_activation():
    from xopipe.backends.loop import SCALAR_ACTIVATION
    from xopipe.backends.numpy import ACTIVATION as NUMPY_ACTIVATION
    from xopipe.backends.torch import ACTIVATION as TORCH_ACTIVATION
    from xopipe.config.vocabulary import ACTIVATIONS

    for table in (SCALAR_ACTIVATION, NUMPY_ACTIVATION, TORCH_ACTIVATION):
        assert set(table) == set(ACTIVATIONS)
    assert {case[0] for case in TORCH_CASES} == set(ACTIVATIONS)  # each one checked against torch
