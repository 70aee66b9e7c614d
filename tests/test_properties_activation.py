"""Property-based conformance of activation: each, with its parameters, as torch computes it."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.property_cases import (
    ACTIVATION_CASES,
    ACTIVATION_ORACLES,
    BACKENDS,
    SETTINGS,
    _agree,
    _run_ours,
    activation_example,
)


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(
    case=ACTIVATION_CASES,
    scale=st.floats(0.1, 50),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(["float64", "float32"]),
)
def test_activation_matches_torch(backend, case, scale, seed, dtype):
    x, node = activation_example(case, scale, seed, dtype)
    name, params = case
    ours = _run_ours("activation", node, x, backend)
    _agree(ours, ACTIVATION_ORACLES[name](torch.from_numpy(x), params).numpy(), dtype)
