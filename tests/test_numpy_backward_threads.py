"""The numpy backward pass on threads: torch's gradients, and the same bits on any number
of threads, because every cell adds its terms in one order (numpy_conv_rows.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xopipe.backends.numpy_conv_rows as conv_rows
import xopipe.backends.numpy_select as select
from xopipe.backends import get_backend

POOL = dict(stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False)


def _threads(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    for module in (conv_rows, select):
        monkeypatch.setattr(module, "thread_count", lambda: count)


def _conv_backward(x, weight, grad, dilation=(1, 1)):
    return get_backend("numpy").conv2d_backward(
        x,
        weight,
        grad,
        stride=(1, 1),
        pads=(0, 0, 0, 0),
        dilation=dilation,
        groups=1,
        padding_mode="zeros",
        divisor=9.0,
    )


@pytest.mark.parametrize("dilation", [(1, 1), (2, 3)])
def test_conv_backward_has_the_same_bits_on_one_two_and_five_threads(monkeypatch, dilation):
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (1, 300, 260))
    weight = rng.uniform(-1, 1, (3, 1, 3, 3))
    rows, cols = 300 - 2 * dilation[0], 260 - 2 * dilation[1]
    grad = rng.uniform(-1, 1, (3, rows, cols))
    tile, threaded = conv_rows.plan_tiles(rows, 260, 9, 3, rows)
    assert threaded and rows // tile >= 8  # many tiles, whose edge rows take two tiles' terms
    found = {}
    for count in (1, 2, 5):
        _threads(monkeypatch, count)
        found[count] = _conv_backward(x, weight, grad, dilation)
    for count in (2, 5):
        for ours, single in zip(found[count], found[1], strict=True):
            np.testing.assert_array_equal(ours, single)
    leaves = [torch.from_numpy(a).requires_grad_() for a in (x, weight)]
    y = F.conv2d(leaves[0][None], leaves[1], dilation=dilation)[0] / 9
    theirs = torch.autograd.grad(y, leaves, torch.from_numpy(grad))
    np.testing.assert_allclose(found[5][0], theirs[0].numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(found[5][1], theirs[1].numpy(), rtol=1e-12, atol=1e-10)


def test_a_tiles_first_rows_wait_for_the_tile_before(monkeypatch):
    """Taken at once, a tile's shares for its first rows would race the tile before's
    on another thread; they come back to be added after it, in tile order."""
    rng = np.random.default_rng(12)
    channels = rng.uniform(-1, 1, (1, 40, 12))
    grad = rng.uniform(-1, 1, (2, 38, 10))
    matrix = rng.uniform(-1, 1, (2, 9))
    waited = []
    add_rows = conv_rows.add_rows

    def recording(target, spread, top, n, cols, dilation, first_late=0):
        waiting = add_rows(target, spread, top, n, cols, dilation, first_late)
        waited.append((top, first_late, sum(values.size for _, _, values in waiting)))
        return waiting

    monkeypatch.setattr(conv_rows, "add_rows", recording)
    target = np.zeros_like(channels)
    conv_rows.backward_in_tiles(channels, grad, matrix, target, (3, 3), (1, 1), 10)
    assert [top for top, _, _ in waited] == [0, 10, 20, 30]
    assert waited[0][1:] == (0, 0)  # the first tile's rows take no other tile's terms
    # Each later tile holds back its shares for input rows top and top + 1 (a 3-row kernel).
    assert all(first_late == (top + 2) * 12 for top, first_late, _ in waited[1:])
    assert all(count > 0 for _, _, count in waited[1:])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool_backward_on_threads_is_torchs_ties_included(monkeypatch, dtype):
    rng = np.random.default_rng(13)
    x = rng.integers(-2, 3, (3, 254, 254)).astype(dtype)  # ties in most windows
    grad = rng.uniform(-1, 1, (3, 127, 127)).astype(dtype)
    leaf = torch.from_numpy(x).requires_grad_()
    y = F.max_pool2d(leaf[None], 2)[0]
    (theirs,) = torch.autograd.grad(y, [leaf], torch.from_numpy(grad))
    for count in (1, 3):
        _threads(monkeypatch, count)
        ours = get_backend("numpy").max_pool2d_backward(x, grad, size=(2, 2), **POOL)
        np.testing.assert_array_equal(ours, theirs.numpy())


def test_relu_backward_on_threads_is_torchs(monkeypatch):
    rng = np.random.default_rng(14)
    x = rng.integers(-2, 3, (3, 200, 201)).astype("float64")  # zeros: relu'(0) = 0
    grad = rng.uniform(-1, 1, x.shape)
    leaf = torch.from_numpy(x).requires_grad_()
    (theirs,) = torch.autograd.grad(F.relu(leaf), [leaf], torch.from_numpy(grad))
    for count in (1, 3):
        _threads(monkeypatch, count)
        ours = get_backend("numpy").activation_backward("relu", x, grad, {})
        np.testing.assert_array_equal(ours, theirs.numpy())
