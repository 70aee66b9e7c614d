"""activation's backward on every backend: dL/dx = dL/dy * f'(x) as torch.autograd gives it.

Every activation with drawn parameters (the forward property cases, replayed
backward), on inputs that include exact zeros, where relu, leaky_relu and elu
have a kink and torch's choice is the rule: relu'(0) = 0, leaky_relu'(0) =
negative_slope, elu'(0) = alpha.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.backward_cases import Compared, assert_close, autograd, run_backward
from tests.property_cases import (
    ACTIVATION_CASES,
    ACTIVATION_ORACLES,
    GRADIENT_BACKENDS,
    SETTINGS,
    activation_example,
)
from xopipe.backends import get_backend
from xopipe.config.vocabulary import ACTIVATIONS


def _with_zeros(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[0, 0, :3] = 0.0
    x[1, 2, 1] = -0.0
    return x


@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_activation_backward_matches_autograd(backend):
    tally = Compared()

    @SETTINGS
    @given(
        case=ACTIVATION_CASES,
        scale=st.floats(0.1, 50),
        seed=st.integers(0, 2**16),
        dtype=st.sampled_from(["float64", "float32"]),
    )
    def check(case, scale, seed, dtype):
        x, node = activation_example(case, scale, seed, dtype)
        x = _with_zeros(x)
        name, params = case
        ours = run_backward("activation", node, x, backend, seed)
        oracle = ACTIVATION_ORACLES[name]
        (theirs,) = autograd(lambda t: oracle(t, params), [x], ours.grad_y)
        assert_close(ours.grad_x, theirs, dtype, name)
        tally.note((case, scale, seed, dtype))

    check()
    tally.check()


DEFAULTS = {name: dict(params) for name, params in ACTIVATIONS.items()}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("backend", GRADIENT_BACKENDS)
def test_every_activation_at_its_kinks_and_far_out(backend, name):
    """Each one with its default parameters, at 0 and +-1e-300, and far out where a naive
    formula overflows (sigmoid at -800, softplus past its threshold)."""
    x = np.array([[[0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0, 25.0, -25.0, 800.0, -800.0]]])
    grad = np.linspace(-2, 3, x.size).reshape(x.shape)
    chosen = get_backend(backend)
    got = chosen.to_host(
        chosen.activation_backward(
            name, chosen.to_backend(x), chosen.to_backend(grad), DEFAULTS[name]
        )
    )
    oracle = ACTIVATION_ORACLES[name]
    params = DEFAULTS[name]
    (theirs,) = autograd(lambda t: oracle(t, params), [x], grad)
    assert np.isfinite(got).all()
    assert_close(got, theirs, "float64", name)
    if name == "relu":
        assert got[0, 0, 0] == 0.0 and got[0, 0, 1] == 0.0  # relu'(0) = 0
