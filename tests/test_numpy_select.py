"""xopipe.backends.numpy_select: the numpy backward pass's branch-free selections give
np.where's and the plain tap loop's numbers bit for bit, NaN, infinities and -0.0 included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xopipe.backends import get_backend
from xopipe.backends.numpy_select import first_maxima, kept
from xopipe.backends.numpy_views import pool_frame

SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-300, -5e-324]


def _grad(dtype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grad = rng.uniform(-2, 2, shape).astype(dtype)
    flat = grad.reshape(-1)
    flat[: len(SPECIAL)] = np.array(SPECIAL).astype(dtype)
    return grad


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_kept_is_np_where_bit_for_bit(dtype):
    grad = _grad(dtype, (3, 7, 11))
    mask = np.random.default_rng(1).random(grad.shape) < 0.5
    mask.reshape(-1)[: len(SPECIAL)] = True  # the special values are kept, bits and all
    expected = np.where(mask, grad, grad.dtype.type(0))
    found = kept(grad, mask)
    assert found.dtype == grad.dtype
    assert found.tobytes() == expected.tobytes()
    assert not np.signbit(found[~mask]).any()  # +0.0 where the mask is off
    frame = np.full((3, 14, 22), 7.0, dtype=dtype)  # into a strided view, as pool writes
    kept(grad, mask, out=frame[:, 1::2, ::2])
    assert frame[:, 1::2, ::2].tobytes() == expected.tobytes()
    assert (frame[:, ::2, :] == 7.0).all()


def test_kept_falls_back_for_other_types():
    grad = np.arange(6, dtype=np.int64).reshape(1, 2, 3)
    mask = grad % 2 == 0
    assert kept(grad, mask).tolist() == [[[0, 0, 2], [0, 4, 0]]]


def _loop_first_maxima(padded: np.ndarray, taps) -> np.ndarray:
    """The rule as written before: a tap takes over only where it is strictly greater."""
    best = padded[taps[0]].copy()
    winner = np.zeros(best.shape, dtype=np.int64)
    for t, tap in enumerate(taps[1:], start=1):
        better = padded[tap] > best
        best[better] = padded[tap][better]
        winner[better] = t
    return winner


@pytest.mark.parametrize(
    ("size", "stride", "dilation"),
    [((2, 2), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 1)), ((2, 3), (3, 2), (2, 1))],
)
def test_first_maxima_is_the_strictly_greater_rule(size, stride, dilation):
    rng = np.random.default_rng(2)
    x = rng.integers(-2, 3, (2, 13, 12)).astype(np.float64)  # small integers: many ties
    x[0, 0, :4] = [np.nan, 1.0, np.nan, 5.0]  # a NaN first, a NaN later
    x[1, 3:5, 3:5] = -np.inf
    _, taps = pool_frame(x.shape, size, stride, (0, 0), dilation, False)
    found = first_maxima([x[tap] for tap in taps])
    assert found.tolist() == _loop_first_maxima(x, taps).tolist()
    assert (found == 0).any() and (found > 0).any()


def test_a_negative_zero_gradient_through_max_pool_is_torchs_plus_zero():
    x = np.random.default_rng(3).uniform(-1, 1, (1, 4, 4))
    grad = np.array([[[-0.0, 1.0], [-2.0, -0.0]]])
    ours = get_backend("numpy").max_pool2d_backward(
        x, grad, size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False
    )
    leaf = torch.from_numpy(x).requires_grad_()
    (theirs,) = torch.autograd.grad(F.max_pool2d(leaf[None], 2)[0], leaf, torch.from_numpy(grad))
    assert ours.tobytes() == theirs.numpy().tobytes()
    assert not np.signbit(ours).any() or (ours[np.signbit(ours)] != 0).all()


@pytest.mark.parametrize(
    ("shape", "size", "stride", "padding", "dilation", "ceil_mode"),
    [
        ((3, 8, 8), 2, 2, 0, 1, False),  # the windows tile the map: no zeros written first
        ((3, 7, 9), 2, 2, 0, 1, False),  # the last row and column in no window: zeros
        ((2, 7, 7), 2, 2, 0, 1, True),  # ceil_mode: the last windows hang over
        ((2, 9, 8), 3, 2, 1, 1, False),  # overlapping windows: added, not written
        ((1, 9, 9), 2, 3, 0, 1, False),  # gaps between the windows: zeros
        ((2, 11, 10), 2, 2, 1, 2, False),  # dilation: each window spans 3
        ((1, 6, 6), 2, 3, 0, 2, False),  # dilated windows side by side: the skipped cells 0
        ((3, 130, 260), 2, 2, 0, 1, False),  # more than one block of rows
    ],
)
def test_max_pool_backward_is_torchs_in_every_layout(
    shape, size, stride, padding, dilation, ceil_mode
):
    rng = np.random.default_rng(4)
    x = rng.integers(-3, 4, shape).astype(np.float64)  # small integers: ties everywhere
    leaf = torch.from_numpy(x).requires_grad_()
    y = F.max_pool2d(leaf[None], size, stride, padding, dilation, ceil_mode)[0]
    grad = rng.uniform(-1, 1, tuple(y.shape))
    (theirs,) = torch.autograd.grad(y, leaf, torch.from_numpy(grad))
    pair = lambda v: (v, v)  # noqa: E731
    backend = get_backend("numpy")
    args = dict(
        size=pair(size),
        stride=pair(stride),
        padding=pair(padding),
        dilation=pair(dilation),
        ceil_mode=ceil_mode,
    )
    # Both ways: finding the maxima, and comparing with the forward's output (a run's).
    for output in (None, backend.max_pool2d(x, **args)):
        ours = backend.max_pool2d_backward(x, grad, output=output, **args)
        np.testing.assert_array_equal(ours, theirs.numpy())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_max_pool_backward_from_the_forwards_output_is_bit_for_bit(dtype):
    """With the forward's output: the same bytes as without, on special values: -0.0
    against +0.0 (a tie: the first wins), -inf (a window of -inf hands its gradient to its
    first cell), NaN in x (the maximum is NaN: the comparison is not used), and special
    gradients (-0.0 arrives as +0.0, NaN and infinities are routed whole)."""
    backend = get_backend("numpy")
    x = np.random.default_rng(5).integers(-2, 3, (2, 12, 12)).astype(dtype)
    x[0, 0, :2], x[0, 1, :2] = (-0.0, 0.0), (0.0, -0.0)
    x[0, 2:4, 2:4] = -np.inf
    x[1, 4, 5] = np.nan
    args = dict(size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False)
    for values in (x, np.nan_to_num(x, nan=1.0)):  # one NaN window, then none
        grad = _grad(dtype, (2, 6, 6), seed=6)
        plain = backend.max_pool2d_backward(values, grad, **args)
        output = backend.max_pool2d(values, **args)
        routed = backend.max_pool2d_backward(values, grad, output=output, **args)
        assert routed.tobytes() == plain.tobytes()
        # The first window is -0.0, 0.0 / 0.0, -0.0: the first cell takes the (NaN) gradient.
        assert np.isnan(routed[0, 0, 0]) and not routed[0, :2, :2].reshape(-1)[1:].any()
        assert routed[0, 2, 2].tobytes() == (grad[0, 1, 1] + 0).tobytes()


def test_dilated_windows_side_by_side_leave_zeros_between_their_taps():
    """Stride = a dilated window's span: the windows meet, but the cells between their taps
    belong to none and must be 0, not whatever the frame's memory held before."""
    backend = get_backend("numpy")
    x = np.arange(36.0).reshape(1, 6, 6)
    grad = np.ones((1, 2, 2))
    args = dict(size=(2, 2), stride=(3, 3), padding=(0, 0), dilation=(2, 2), ceil_mode=False)
    leaf = torch.from_numpy(x).requires_grad_()
    y = F.max_pool2d(leaf[None], 2, 3, 0, 2)[0]
    (theirs,) = torch.autograd.grad(y, leaf, torch.from_numpy(grad))
    for output in (None, backend.max_pool2d(x, **args)):
        for _ in range(3):
            junk = np.full(x.shape, np.nan)  # freed memory of NaN, which np.empty may hand back
            del junk
            ours = backend.max_pool2d_backward(x, grad, output=output, **args)
            np.testing.assert_array_equal(ours, theirs.numpy())
