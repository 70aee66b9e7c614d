"""pool's backward on every backend: torch.autograd's gradients, through the zero fill.

The forward property cases (max and avg, explicit zero fill, -inf padding,
ceil_mode, dilation, count_include_pad) replayed backward, each also on
inputs rounded to a few levels so that windows tie: a tie goes to the first
maximum in row-major window order, as torch's CPU autograd sends it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given

from tests.backward_cases import Compared, assert_close, autograd, random_grad, run_backward
from tests.property_cases import GRADIENT_BACKENDS, REFUSED_MIN, SETTINGS, pool_cases, pool_example
from xopipe.backends import get_backend
from xopipe.errors import UserError


def _pool_module(case):
    stride = case["stride"] if case["stride"] is not None else case["size"]
    if case["name"] == "max":
        return nn.MaxPool2d(
            case["size"], stride, case["padding"], case["dilation"], ceil_mode=case["ceil_mode"]
        )
    return nn.AvgPool2d(
        case["size"],
        stride,
        case["padding"],
        ceil_mode=case["ceil_mode"],
        count_include_pad=case["count_include_pad"],
    )


def _pool_grads(case, x, grad_y):
    fill = (case["pad"],) * 4 if isinstance(case["pad"], int) else tuple(case["pad"])
    module = _pool_module(case)
    return autograd(lambda xt: module(nn.ZeroPad2d(fill)(xt[None]))[0], [x], grad_y)


@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_pool_backward_matches_autograd(backend):
    tally = Compared()
    ties = Compared()

    @SETTINGS
    @given(case=pool_cases())
    def check(case):
        x, node = pool_example(case)
        # Each case twice: as drawn, and rounded to a few levels (-0.0 among them, which
        # ties with the zero fill) so that most windows tie.
        for tied, values in ((False, x), (True, np.round(x * 2) / 2)):
            ours = run_backward("pool", node, values, backend, case["seed"])
            if isinstance(ours, UserError):
                tally.note(case, refused=True)
                return
            if np.isneginf(ours.y).any():
                return  # a window wholly in the padding: torch's own gradient is wrong there
            theirs = _pool_grads(case, values, ours.grad_y)
            assert not isinstance(theirs, Exception), f"torch refused ({theirs}) but xopipe ran"
            assert_close(ours.grad_x, theirs[0], case["dtype"], f"dL/dx, tied={tied}")
            tally.note(case)
            if tied and case["name"] == "max":
                ties.note(case)

    check()
    tally.check(refused_at_least=REFUSED_MIN)
    assert len(ties.compared) >= 20, f"only {len(ties.compared)} max pools on tied inputs"


# A window wholly in the padding: rows -1 and 1 of a one-row map (dilation 2, padding 1).
EMPTY = dict(size=(2, 2), stride=(1, 1), padding=(1, 1), dilation=(2, 2), ceil_mode=False)


@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_a_window_wholly_in_the_padding_passes_no_gradient(backend):
    """Its max is -inf and it read no cell, so it sends no gradient back."""
    x = np.arange(6.0).reshape(2, 1, 3)
    chosen = get_backend(backend)
    y = chosen.to_host(chosen.max_pool2d(chosen.to_backend(x), **EMPTY))
    assert y.shape == (2, 1, 3) and np.isneginf(y).all()
    grad = np.ones_like(y)
    got = chosen.to_host(
        chosen.max_pool2d_backward(chosen.to_backend(x), chosen.to_backend(grad), **EMPTY)
    )
    np.testing.assert_array_equal(got, np.zeros_like(x))
    # Why torch's autograd is no oracle here: it records an index past the one-row plane,
    # where its backward would write (outside the tensor, for the last channel).
    _, index = F.max_pool2d(torch.from_numpy(x)[None], **_torch_args(EMPTY), return_indices=True)
    assert (index >= 3).all()


def _torch_args(args):
    return {
        "kernel_size": args["size"],
        "stride": args["stride"],
        "padding": args["padding"],
        "dilation": args["dilation"],
        "ceil_mode": args["ceil_mode"],
    }


@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_a_zero_fill_cell_that_wins_takes_the_gradient(backend):
    """pool.pad's zeros are cells of the map pooled: one that wins a window takes its
    gradient, and the cell it shadows gets none; ties go to the first in row-major order."""
    x = np.array([[[0.0, -2.0, -3.0], [-4.0, -5.0, -0.0], [-7.0, 0.0, -9.0]]])
    node = dict(name="max", size=2, stride=None, pad=[1, 0, 0, 1], padding=0, dilation=1)
    node |= dict(ceil_mode=False, count_include_pad=True)
    ours = run_backward("pool", node, x, backend, 0)
    # The filled map (Z: a fill zero):   Z  0 -2 -3 /  Z -4 -5 -0 /  Z -7  0 -9 /  Z  Z  Z  Z
    # window [0,0]: Z, then x[0,0] = 0 ties: Z keeps it, x[0,0] gets nothing;
    # [0,1]: -0.0 at x[1,2]; [1,0]: Z; [1,1]: x[2,1] = 0 comes before the two Z below it.
    expected = np.zeros_like(x)
    expected[0, 1, 2] = ours.grad_y[0, 0, 1]
    expected[0, 2, 1] = ours.grad_y[0, 1, 1]
    np.testing.assert_array_equal(ours.grad_x, expected)
    (theirs,) = autograd(
        lambda t: F.max_pool2d(F.pad(t[None], (1, 0, 0, 1)), 2)[0], [x], ours.grad_y
    )
    np.testing.assert_array_equal(ours.grad_x, theirs)


@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_avg_pool2d_backward_takes_the_input_shape(backend):
    """ceil_mode's last window hangs past the padding; count_include_pad=False divides by the
    cells inside only."""
    chosen = get_backend(backend)
    shape = (2, 5, 7)
    args = dict(size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True)
    for include in (True, False):
        y_shape = F.avg_pool2d(torch.zeros(1, *shape), **_avg(args, include)).shape[1:]
        grad = random_grad(tuple(y_shape), np.float64, 5)
        got = chosen.avg_pool2d_backward(
            shape, chosen.to_backend(grad), count_include_pad=include, **args
        )
        (theirs,) = autograd(
            lambda t, i=include: F.avg_pool2d(t[None], **_avg(args, i))[0],
            [np.zeros(shape)],
            grad,
        )
        assert_close(chosen.to_host(got), theirs, "float64", f"count_include_pad={include}")


def _avg(args, include):
    return {
        "kernel_size": args["size"],
        "stride": args["stride"],
        "padding": args["padding"],
        "ceil_mode": args["ceil_mode"],
        "count_include_pad": include,
    }
