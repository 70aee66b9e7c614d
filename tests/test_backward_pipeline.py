"""The backward pass through whole pipelines, every backend, against torch.autograd.

The oracle rebuilds each pipeline with torch.nn.functional from the stages'
prepared parameters (the same weights, strides, fills), differentiates its
loss with autograd, and reads dL/d the input, every stage's output and every
weight. xopipe's chain (xopipe.backward) must agree on every cell: fan-out
summed, stages the loss does not reach at zero, weights before the / 9.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.backward_cases import TOL
from xopipe.backends import BACKENDS, FORWARD_ONLY, get_backend
from xopipe.backward import backpropagate
from xopipe.experiment import build_experiment, execute
from xopipe.ops.conv_params import groups_for
from xopipe.ops.pool_params import fill_for
from xopipe.pipeline import SOURCE

ACTIVATIONS = {
    "relu": lambda x, p: F.relu(x),
    "leaky_relu": lambda x, p: F.leaky_relu(x, p["negative_slope"]),
    "elu": lambda x, p: F.elu(x, p["alpha"]),
    "gelu": lambda x, p: F.gelu(x, approximate=p["approximate"]),
    "sigmoid": lambda x, p: torch.sigmoid(x),
    "tanh": lambda x, p: torch.tanh(x),
    "softplus": lambda x, p: F.softplus(x, p["beta"], p["threshold"]),
    "identity": lambda x, p: x,
}

CASES = {
    "seed sum": ["loss=sum"],
    "seed mse": ["loss=mse"],
    "seed, loss on conv only": ["loss=sum", "loss.stages=[conv]"],
    "classic leaky": ["loss=mse", "pipeline=classic", "activation=leaky_relu"]
    + ["activation.negative_slope=0.1", "input=random", "input.shape=[11,10]"],
    "two_layer": ["loss=sum", "pipeline=two_layer", "input=random", "input.shape=[14,14]"]
    + ["kernels=random"],
    "pad stage reflect": ["loss=mse", "+pipeline.stages.padded={op: pad, input: conv}"]
    + ["pad.pads=[1,2,2,1]", "pad.mode=reflect", "loss.stages=[padded,pool]"],
    "circular same, avg ceil, gelu": ["loss=sum", "input=random", "input.shape=[2,12,13]"]
    + ["kernels=random", "kernels.shape=[4,2,3,3]", "conv.padding=same"]
    + ["conv.padding_mode=circular", "pool=avg", "pool.size=3", "pool.pad=0"]
    + ["pool.ceil_mode=true", "pool.count_include_pad=false", "activation=gelu"],
    "strided dilated groups, -inf padding, elu": ["loss=mse", "input=random"]
    + ["input.shape=[2,15,15]", "kernels=random", "kernels.shape=[4,1,3,3]", "conv.groups=2"]
    + ["conv.stride=2", "conv.dilation=[1,2]", "conv.bias=[0.5,-1,0.25,0]", "conv.flip=true"]
    + ["conv.normalize=none", "pool.pad=0", "pool.padding=1", "pool.dilation=2"]
    + ["activation=elu", "conv.padding=[1,2]", "conv.padding_mode=replicate"],
    "softplus, zero fill wins": ["loss=sum", "input=random", "input.shape=[9,9]", "input.low=-3"]
    + ["input.high=-1", "activation=softplus", "activation.beta=2"],
}


def _stage(op: str, p, x: torch.Tensor, params: dict) -> torch.Tensor:
    if op == "conv":
        left, right, top, bottom = p.pads
        mode = "constant" if p.padding_mode == "zeros" else p.padding_mode
        padded = F.pad(x[None], (left, right, top, bottom), mode=mode)
        weight, bias = params["weight"], params["bias"]
        y = F.conv2d(
            padded, weight, stride=p.stride, dilation=p.dilation, groups=groups_for(p, x.shape[0])
        )[0]
        if p.divisor is not None:
            y = y / p.divisor
        return y + bias[:, None, None]
    if op == "pool":
        fill = fill_for(p, x.shape[1], x.shape[2])
        filled = F.pad(x[None], fill) if any(fill) else x[None]
        if p.kind == "max":
            return F.max_pool2d(
                filled, p.size, p.stride, p.padding, p.dilation, ceil_mode=p.ceil_mode
            )[0]
        return F.avg_pool2d(filled, p.size, p.stride, p.padding, p.ceil_mode, p.count_include_pad)[
            0
        ]
    if op == "activation":
        return ACTIVATIONS[p.name](x, dict(p.params))
    assert op == "pad", op
    mode = p.mode
    value = p.value if mode == "constant" else None
    return F.pad(x[None], p.pads, mode=mode, value=value)[0]


def _autograd(experiment):
    kind = getattr(torch, experiment.dtype.name)
    x = torch.tensor(experiment.source, dtype=kind, requires_grad=True)
    outputs = {SOURCE: x}
    weights = {}
    for name in experiment.pipeline.order:
        stage = experiment.stages[name]
        params = {}
        if stage.spec.op == "conv":
            params = {
                key: torch.tensor(getattr(stage.params, key), dtype=kind, requires_grad=True)
                for key in ("weight", "bias")
            }
            weights[name] = params
        y = _stage(stage.spec.op, stage.params, outputs[stage.spec.input], params)
        y.retain_grad()
        outputs[name] = y
    loss = experiment.loss
    total = 0
    for name in loss.stages:
        out = outputs[name]
        if loss.kind == "sum":
            total = total + out.sum()
        else:
            total = total + F.mse_loss(out, torch.zeros_like(out))
    total.backward()
    zero = torch.zeros_like
    grads = {n: (t.grad if t.grad is not None else zero(t)).numpy() for n, t in outputs.items()}
    return (
        float(total),
        grads,
        {n: {k: t.grad.numpy() for k, t in w.items()} for n, w in weights.items()},
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b not in FORWARD_ONLY])
@pytest.mark.parametrize("case", list(CASES))
def test_pipeline_gradients_match_autograd(make_config, case, backend, dtype):
    experiment = build_experiment(make_config(*CASES[case], f"dtype={dtype}"))
    chosen = get_backend(backend)
    gradients = backpropagate(experiment, chosen, execute(experiment, chosen, keep=True))
    value, grads, weights = _autograd(experiment)
    tol = TOL[dtype]
    assert gradients.value == pytest.approx(value, rel=tol, abs=tol)
    assert list(gradients.arrays) == [SOURCE, *experiment.pipeline.order]
    compared = 0
    for name, expected in grads.items():
        got = gradients.arrays[name]
        assert got.dtype == np.dtype(dtype) and got.shape == expected.shape, name
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=name)
        compared += got.size
    for name, expected in weights.items():
        for key in ("weight", "bias"):
            got = getattr(gradients.weights[name], key)
            np.testing.assert_allclose(got, expected[key], rtol=tol, atol=tol, err_msg=name)
    assert compared >= 81 * 2  # every cell of the input and the stages, not a few of them
    assert any(np.any(g != 0) for g in gradients.arrays.values())


def test_stages_the_loss_does_not_reach_get_zeros(make_config):
    experiment = build_experiment(make_config("loss=sum", "loss.stages=[conv]"))
    numpy = get_backend("numpy")
    gradients = backpropagate(experiment, numpy, execute(experiment, numpy, keep=True))
    assert not gradients.arrays["pool"].any() and not gradients.arrays["activation"].any()
    np.testing.assert_array_equal(gradients.arrays["conv"], np.ones((3, 7, 7)))
    # dL/d the stored weights: each kernel's weight gets the sum of its 7x7 windows / 9
    x = experiment.source[0]
    windows = np.array([[x[a : a + 7, b : b + 7].sum() for b in range(3)] for a in range(3)])
    np.testing.assert_allclose(gradients.weights["conv"].weight[:, 0], [windows / 9] * 3)
    np.testing.assert_array_equal(gradients.weights["conv"].bias, [49.0] * 3)


def test_a_zero_fill_that_wins_takes_the_window_gradient(make_config):
    """All-negative input: the pool's zero fill (right and bottom) wins the edge windows,
    so the conv cells it shadows get none of their gradient."""
    overrides = ["loss=sum", "loss.stages=[pool]", "input=random", "conv.bias=-5"]
    experiment = build_experiment(make_config(*overrides))
    numpy = get_backend("numpy")
    results = execute(experiment, numpy, keep=True)
    assert (results.arrays["conv"] < 0).all()
    grad_conv = backpropagate(experiment, numpy, results).arrays["conv"]
    # 7x7 filled to 8x8: the last row and column's windows are won by a fill zero
    assert not grad_conv[:, 6, :].any() and not grad_conv[:, :, 6].any()
    # every inner window sends its 1 to exactly one of its four cells
    np.testing.assert_array_equal(grad_conv[:, :6, :6].reshape(3, 3, 2, 3, 2).sum(axis=(2, 4)), 1)
