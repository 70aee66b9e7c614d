"""Property-based conformance of activation: each, with its parameters, as torch computes it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tests.property_cases import (
    ACTIVATION_CASES,
    BACKENDS,
    SETTINGS,
    _agree,
    _run_ours,
    activation_example,
)

ORACLES = {
    "relu": lambda t, p: F.relu(t),
    "sigmoid": lambda t, p: torch.sigmoid(t),
    "tanh": lambda t, p: torch.tanh(t),
    "identity": lambda t, p: t,
    "leaky_relu": lambda t, p: F.leaky_relu(t, p["negative_slope"]),
    "elu": lambda t, p: F.elu(t, p["alpha"]),
    "gelu": lambda t, p: F.gelu(t, approximate=p["approximate"]),
    "softplus": lambda t, p: F.softplus(t, p["beta"], p["threshold"]),
}


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
    _agree(ours, ORACLES[name](torch.from_numpy(x), params).numpy(), dtype)
