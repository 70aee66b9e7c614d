"""Property-based conformance of pool: max and avg pooling run as torch.nn does, or both refuse.

Also the automatic zero fill (the seed's rule): the fewest cells that let the windows tile.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st

from tests.property_cases import (
    BACKENDS,
    SETTINGS,
    Tally,
    _agree,
    _run_oracle,
    _run_ours,
    pool_cases,
    pool_example,
)


def _pool_oracle(case, x):
    fill = (case["pad"],) * 4 if isinstance(case["pad"], int) else tuple(case["pad"])
    batch = nn.ZeroPad2d(fill)(torch.from_numpy(x)[None])
    stride = case["stride"] if case["stride"] is not None else case["size"]
    if case["name"] == "max":
        module = nn.MaxPool2d(
            case["size"], stride, case["padding"], case["dilation"], ceil_mode=case["ceil_mode"]
        )
    else:
        module = nn.AvgPool2d(
            case["size"],
            stride,
            case["padding"],
            ceil_mode=case["ceil_mode"],
            count_include_pad=case["count_include_pad"],
        )
    return module(batch)[0].numpy()


@pytest.mark.parametrize("backend", BACKENDS)
def test_pool_matches_torch_or_both_refuse(backend):
    tally = Tally()

    @SETTINGS
    @given(case=pool_cases())
    def check(case):
        x, node = pool_example(case)
        ours = _run_ours("pool", node, x, backend)
        _agree(ours, _run_oracle(lambda: _pool_oracle(case, x)), case["dtype"])
        tally.note(case, ours)

    check()
    tally.check()


@given(n=st.integers(1, 40), size=st.integers(1, 6), stride=st.integers(1, 6))
def test_auto_fill_is_the_smallest_that_tiles(n, size, stride):
    from xopipe.geometry import auto_pool_fill

    fill = auto_pool_fill(n, size, stride)
    tiles = [p for p in range(size + stride) if n + p >= size and (n + p - size) % stride == 0]
    assert fill == min(tiles)
