"""The numpy conv backward's stride-1 path (rows as wide as the input, numpy_conv_rows) gives
torch's gradients, and its finite-only shortcut is not taken where it would not hold."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xopipe.backends import get_backend
from xopipe.backends.numpy_views import TILE_POSITIONS


def _both(x, weight, grad, *, pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, stride=(1, 1)):
    ours = get_backend("numpy").conv2d_backward(
        x,
        weight,
        grad,
        stride=stride,
        pads=pads,
        dilation=dilation,
        groups=groups,
        padding_mode="zeros",
        divisor=None,
    )
    leaves = [torch.from_numpy(a).requires_grad_() for a in (x, weight)]
    left, right, top, bottom = pads
    y = F.conv2d(
        F.pad(leaves[0][None], (left, right, top, bottom)),
        leaves[1],
        stride=stride,
        dilation=dilation,
        groups=groups,
    )[0]
    theirs = torch.autograd.grad(y, leaves, torch.from_numpy(grad))
    return ours, [t.numpy() for t in theirs]


@pytest.mark.parametrize(
    ("channels", "kernels", "size", "pads", "dilation", "groups"),
    [
        (1, 3, (3, 3), (0, 0, 0, 0), (1, 1), 1),  # the seed's shape
        (2, 4, (2, 3), (1, 2, 0, 1), (2, 3), 2),  # asymmetric pads, dilation, groups
        (3, 2, (1, 4), (0, 0, 0, 0), (1, 1), 1),  # a one-row kernel
    ],
)
def test_the_stride_one_path_is_torchs(channels, kernels, size, pads, dilation, groups):
    rng = np.random.default_rng(5)
    # Tall enough for several tiles of rows: the runs cross tile boundaries.
    rows = 2 * TILE_POSITIONS // 2 // 40 + 7
    x = rng.uniform(-1, 1, (channels, rows, 40))
    weight = rng.uniform(-1, 1, (kernels, channels // groups, *size))
    out_rows = rows + pads[2] + pads[3] - dilation[0] * (size[0] - 1)
    out_cols = 40 + pads[0] + pads[1] - dilation[1] * (size[1] - 1)
    grad = rng.uniform(-1, 1, (kernels, out_rows, out_cols))
    (grad_x, grad_w, grad_b), (theirs_x, theirs_w) = _both(
        x, weight, grad, pads=pads, dilation=dilation, groups=groups
    )
    np.testing.assert_allclose(grad_x, theirs_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_w, theirs_w, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(grad_b, grad.sum(axis=(1, 2)), rtol=1e-12)


def test_an_infinite_input_cell_takes_the_general_path():
    """An infinity in the input's last column would meet the widened rows' zeros
    (inf * 0 = NaN) in every kernel's weight gradient; torch's has it in none of the
    taps that never read that cell."""
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (1, 9, 8))
    x[0, 4, 7] = np.inf  # read only by taps b = 2 of the windows that reach column 7
    weight = rng.uniform(-1, 1, (2, 1, 3, 3))
    grad = rng.uniform(0.5, 1, (2, 7, 6))  # positive: inf * grad stays inf, never NaN
    (_, grad_w, _), (_, theirs_w) = _both(x, weight, grad)
    np.testing.assert_array_equal(np.isnan(grad_w), np.isnan(theirs_w))
    np.testing.assert_array_equal(np.isinf(grad_w), np.isinf(theirs_w))
    assert np.isfinite(theirs_w[:, :, :, :2]).all()  # taps b = 0, 1 never read column 7
