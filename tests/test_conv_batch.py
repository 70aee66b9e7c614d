"""A batch's conv in one call (xopipe/ops/conv_batch.py) equals each image's own conv, forward
and backward, on every backend: paddings of every mode, strides that do not divide the padded
height, dilation, groups, depthwise kernels; the weight gradient is the sum over the images."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from xopipe.backends import BACKENDS, FORWARD_ONLY, get_backend
from xopipe.ops import conv_batch
from xopipe.ops.conv_params import DEPTHWISE, ConvParams, groups_for

IMAGES = 3

# (channels per image, H, W, weight shape, stride, pads, dilation, groups, padding mode)
CASES = {
    "seed": (1, 9, 9, (3, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1, "zeros"),
    "groups, stride 2x3, dilated": (
        2,
        11,
        10,
        (4, 1, 3, 2),
        (2, 3),
        (1, 2, 2, 1),
        (2, 1),
        2,
        "zeros",
    ),
    "depthwise, reflect": (
        3,
        8,
        7,
        (3, 1, 3, 3),
        (1, 1),
        (1, 1, 1, 1),
        (1, 1),
        DEPTHWISE,
        "reflect",
    ),
    "replicate, stride 2, odd": (
        1,
        10,
        9,
        (2, 1, 3, 3),
        (2, 2),
        (1, 0, 0, 1),
        (1, 1),
        1,
        "replicate",
    ),
    "circular, 5x5 stride 3": (
        2,
        13,
        12,
        (2, 2, 5, 5),
        (3, 3),
        (2, 2, 2, 2),
        (1, 1),
        1,
        "circular",
    ),
}


def _params(case: tuple, batch: int) -> ConvParams:
    _, _, _, shape, stride, pads, dilation, groups, mode = case
    rng = np.random.default_rng(1)
    return ConvParams(
        keyof=str,
        weight=rng.uniform(-1, 1, shape),
        names=tuple(f"k{k}" for k in range(shape[0])),
        bias=rng.uniform(-1, 1, shape[0]),
        stride=stride,
        pads=pads,
        dilation=dilation,
        groups=groups,
        padding_mode=mode,
        divisor=float(np.prod(shape[1:])),
        batch=batch,
    )


def _each_image(backend, x: np.ndarray, grad: np.ndarray, p: ConvParams, channels: int):
    """Every image through the backend's own conv and its backward, one at a time."""
    options = dict(
        stride=p.stride,
        pads=p.pads,
        dilation=p.dilation,
        groups=groups_for(p, channels),
        padding_mode=p.padding_mode,
        divisor=p.divisor,
    )
    kernels = p.weight.shape[0]
    ys, grad_xs, grad_ws, grad_bs = [], [], [], []
    for i in range(IMAGES):
        own = backend.to_backend(x[i * channels : (i + 1) * channels])
        ys.append(backend.to_host(backend.conv2d(own, p.weight, p.bias, **options)))
        grad_y = backend.to_backend(grad[i * kernels : (i + 1) * kernels])
        found = backend.conv2d_backward(own, p.weight, grad_y, **options)
        grad_x, grad_w, grad_b = (backend.to_host(a) for a in found)
        grad_xs.append(grad_x)
        grad_ws.append(grad_w)
        grad_bs.append(grad_b)
    return np.concatenate(ys), np.concatenate(grad_xs), sum(grad_ws), sum(grad_bs)


@pytest.mark.parametrize(
    "backend_name", sorted(set(BACKENDS) - FORWARD_ONLY)
)  # the backends that train
@pytest.mark.parametrize("name", list(CASES))
def test_a_stacked_batch_equals_each_images_conv(backend_name, name):
    case = CASES[name]
    channels, height, width = case[:3]
    backend = get_backend(backend_name)
    p = _params(case, IMAGES)
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (IMAGES * channels, height, width))
    single = dataclasses.replace(p, batch=1)
    out_shape = backend.to_host(
        backend.conv2d(
            backend.to_backend(x[:channels]),
            p.weight,
            p.bias,
            stride=p.stride,
            pads=p.pads,
            dilation=p.dilation,
            groups=groups_for(single, channels),
            padding_mode=p.padding_mode,
            divisor=p.divisor,
        )
    ).shape
    grad = rng.uniform(-1, 1, (IMAGES * out_shape[0], *out_shape[1:]))
    y, grad_x, grad_w, grad_b = _each_image(backend, x, grad, p, channels)

    stacked = backend.to_host(conv_batch.forward(backend, backend.to_backend(x), p))
    assert stacked.shape == y.shape
    np.testing.assert_allclose(stacked, y, rtol=1e-12, atol=1e-12)
    found_x, found_w = conv_batch.backward(
        backend, backend.to_backend(x), backend.to_backend(grad), p
    )
    np.testing.assert_allclose(backend.to_host(found_x), grad_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(backend.to_host(found_w.weight), grad_w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(backend.to_host(found_w.bias), grad_b, rtol=1e-12, atol=1e-12)
    assert np.abs(grad_x).max() > 0.01 and np.abs(grad_w).max() > 0.1  # real gradients


def test_a_batch_of_one_is_the_plain_conv():
    """batch=1 never stacks: the conv of a run is the backend's call as it always was."""
    case = CASES["seed"]
    backend = get_backend("numpy")
    p = _params(case, 1)
    x = np.random.default_rng(3).uniform(-1, 1, (1, 9, 9))
    from xopipe.ops.conv import forward

    direct = backend.conv2d(
        x,
        p.weight,
        p.bias,
        stride=(1, 1),
        pads=(0, 0, 0, 0),
        dilation=(1, 1),
        groups=1,
        padding_mode="zeros",
        divisor=p.divisor,
    )
    np.testing.assert_array_equal(forward(backend, x, p), direct)
