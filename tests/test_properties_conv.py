"""Property-based conformance of conv: any combination runs as torch.nn.Conv2d does, or both refuse.

Where it runs, the output has the shape the conv-arithmetic formula gives.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given

from tests.property_cases import (
    BACKENDS,
    SETTINGS,
    Tally,
    _agree,
    _pair,
    _run_oracle,
    _run_ours,
    conv_cases,
    conv_example,
)
from xopipe.errors import UserError


def _conv_oracle(case, x, weight, bias):
    c = case
    module = nn.Conv2d(
        c["channels"],
        c["kernels"],
        c["size"],
        stride=c["stride"],
        padding=c["padding"],
        dilation=c["dilation"],
        groups=c["groups"],
        bias=True,
        padding_mode=c["padding_mode"],
        dtype=torch.float64 if x.dtype == np.float64 else torch.float32,
    )
    kernel = torch.from_numpy(weight)
    module.weight.copy_(kernel.flip(-1, -2) if c["flip"] else kernel)
    if c["normalize"] == "none":
        module.bias.copy_(torch.from_numpy(bias))
        return module(torch.from_numpy(x)[None])[0].numpy()
    module.bias.zero_()
    count = weight.shape[1] * weight.shape[2] * weight.shape[3]
    out = module(torch.from_numpy(x)[None])[0] / count + torch.from_numpy(bias)[:, None, None]
    return out.numpy()


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # the oracle's
@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_matches_torch_or_both_refuse(backend):
    tally = Tally()

    @SETTINGS
    @given(case=conv_cases())
    def check(case):
        x, weight, bias, node = conv_example(case)
        dtype = x.dtype
        ours = _run_ours("conv", node, x, backend)
        theirs = _run_oracle(
            lambda: _conv_oracle(case, x, weight.astype(dtype), bias.astype(dtype))
        )
        _agree(ours, theirs, case["dtype"])
        tally.note(case, ours)
        if not isinstance(ours, UserError) and isinstance(case["padding"], (int, list)):
            # The conv-arithmetic formula, per dimension.
            (h, w), (sh, sw) = case["input"], _pair(case["stride"])
            (ph, pw), (dh, dw) = _pair(case["padding"]), _pair(case["dilation"])
            kh, kw = case["size"]
            assert ours[1][1] == (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
            assert ours[1][2] == (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1

    check()
    tally.check()
