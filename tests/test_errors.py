"""User mistakes: each stops the run before any work with one line naming key, value, allowed."""

from __future__ import annotations

import pytest

from xopipe.errors import UserError
from xopipe.experiment import build_experiment

# (overrides, the start of the message)
CASES = [
    (["conv.stride=0"], "conv.stride must be a positive integer or a pair [h, w] of them, got 0"),
    (["conv.stride=-2"], "conv.stride must be a positive integer"),
    (
        ["conv.stride=[1,0]"],
        "conv.stride must be a positive integer or a pair [h, w] of them, got [1, 0]",
    ),
    (["conv.padding=-1"], "conv.padding must be an integer >= 0 or a pair [h, w] of them, got -1"),
    (
        ["conv.padding=wide"],
        "conv.padding must be an integer >= 0, a pair [h, w], 'same' or 'valid', got 'wide'",
    ),
    (["conv.dilation=0"], "conv.dilation must be a positive integer"),
    (
        ["conv.padding_mode=mirror"],
        "conv.padding_mode must be one of zeros, reflect, replicate, circular, got 'mirror'",
    ),
    (["conv.normalize=sum"], "conv.normalize must be one of mean, none, got 'sum'"),
    (["conv.groups=0"], "conv.groups must be a positive integer or depthwise, got 0"),
    (["conv.groups=two"], "conv.groups must be a positive integer or depthwise, got 'two'"),
    (["conv.groups=2"], "conv.groups must be a divisor of the number of kernels (3), got 2"),
    (
        ["conv.bias=[1,2]"],
        "conv.bias must be a number or a list of 3 numbers (one per kernel), got [1, 2]",
    ),
    (["conv.dilation=5"], "kernels: the 11x11 kernel window does not fit the padded input 9x9"),
    (["kernels.values=[[[1,2],[3]]]"], "kernels.values must be a list of 2-D kernels"),
    (["kernels.values=[[[1,a],[3,4]]]"], "kernels.values must be a list of 2-D kernels"),
    (["kernels.values=[[]]"], "kernels.values must be a list of 2-D kernels"),
    (
        ["kernels.values=[[[1,1,1,1,1,1,1,1,1,1]]]"],
        "kernels: the 1x10 kernel window does not fit the padded input 9x9",
    ),
    (["kernels.names=[a]"], "kernels.names must have one name per kernel (3), got ['a']"),
    (
        ["kernels.values=[[[1,0],[0,1]]]", "kernels.names=[a,b]"],
        "kernels.names must have one name per kernel (1), got ['a', 'b']",
    ),
    (["pool.size=0"], "pool.size must be a positive integer or a pair [h, w] of them, got 0"),
    (["pool.stride=0"], "pool.stride must be a positive integer"),
    (
        ["pool.pad=-1"],
        "pool.pad must be an integer >= 0 or a list [left, right, top, bottom] of them, got -1",
    ),
    (["pool.pad=[1,1]"], "pool.pad must be an integer >= 0 or a list [left, right, top, bottom]"),
    (
        ["pool.pad=some"],
        "pool.pad must be auto, an integer >= 0 or [left, right, top, bottom], got 'some'",
    ),
    (["pool.size=8", "pool.pad=0"], "pool.size: the 8x8 pooling window does not fit the 7x7 map"),
    (
        ["pool.padding=2"],
        "pool.padding must be at most half the window [2, 2] (as in PyTorch), got [2, 2]",
    ),
    (["input.values=[[1,2],[3]]"], "input.values must be a grid [H][W] or [C][H][W] of numbers"),
    (["input.values=[[1,nan]]"], "input.values must hold finite numbers; got nan at index [0, 1]"),
    (
        ["input=random", "input.shape=[0,3]"],
        "input.shape must be [H, W] or [C, H, W] of positive integers, got [0, 3]",
    ),
    (
        ["input=random", "input.low=1", "input.high=0"],
        "input.high must be greater than input.low (1.0), got 0.0",
    ),
    (
        ["pipeline.stages.pool.op=blur"],
        "pipeline.stages.pool.op must be one of activation, conv, pad, pool, got 'blur'",
    ),
    (
        ["activation=gelu", "activation.approximate=fast"],
        "activation.approximate must be none or tanh, got 'fast'",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_user_error(make_config, overrides, message):
    with pytest.raises(UserError) as caught:
        build_experiment(make_config(*overrides))
    text = str(caught.value)
    assert text.startswith(message), text
    assert "\n" not in text
