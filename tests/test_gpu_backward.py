"""The torch backend's gradients on a CUDA device: the NumPy backend's, op by op.

The backward property cases (conv, pool with ties, activation) replayed with
the torch backend on the device; the gradients must have been computed there
and agree with the NumPy backend's within the backward tolerance. Skipped
where torch sees no CUDA device: `pytest tests/test_gpu_backward.py` on a
machine with an NVIDIA GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.backward_cases import Compared, assert_close, run_backward
from tests.property_cases import (
    ACTIVATION_CASES,
    REFUSED_MIN,
    SETTINGS,
    activation_example,
    conv_cases,
    conv_example,
    pool_cases,
    pool_example,
)
from xopipe.backends import get_backend
from xopipe.errors import UserError

pytestmark = [
    pytest.mark.needs("GPU"),
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="no CUDA device visible (torch.cuda.is_available() is False); "
        "these tests need an NVIDIA GPU and a CUDA build of torch",
    ),
]


@pytest.fixture(scope="module")
def cuda():
    return get_backend("torch", device="cuda")


def _same_as_numpy(op: str, node: dict, x: np.ndarray, seed: int, cuda) -> bool:
    """True when compared; False when both refused the stage alike."""
    crossed: list[torch.device] = []

    def to_host(tensor: torch.Tensor) -> np.ndarray:
        crossed.append(tensor.device)
        return type(cuda).to_host(cuda, tensor)

    cuda.to_host = to_host
    try:
        ours = run_backward(op, node, x, cuda, seed)
    finally:
        del cuda.to_host
    reference = run_backward(op, node, x, "numpy", seed)
    if isinstance(reference, UserError) or isinstance(ours, UserError):
        assert str(ours) == str(reference)
        return False
    assert crossed and all(device == cuda.device for device in crossed)
    dtype = str(x.dtype)
    assert_close(ours.grad_x, reference.grad_x, dtype, "dL/dx")
    if reference.grad_weight is not None:
        assert_close(ours.grad_weight, reference.grad_weight, dtype, "dL/dweight")
        assert_close(ours.grad_bias, reference.grad_bias, dtype, "dL/dbias")
    return True


def test_conv_gradients_on_the_gpu_match_numpy(cuda):
    tally = Compared()

    @SETTINGS
    @given(case=conv_cases())
    def check(case):
        x, _, _, node = conv_example(case)
        tally.note(case, refused=not _same_as_numpy("conv", node, x, case["seed"], cuda))

    check()
    tally.check(refused_at_least=REFUSED_MIN)


def test_pool_gradients_on_the_gpu_match_numpy(cuda):
    tally = Compared()

    @SETTINGS
    @given(case=pool_cases())
    def check(case):
        x, node = pool_example(case)
        tied = np.round(x * 2) / 2  # ties: the first maximum on the device too
        for values in (x, tied):
            compared = _same_as_numpy("pool", node, values, case["seed"], cuda)
        tally.note(case, refused=not compared)

    check()
    tally.check(refused_at_least=REFUSED_MIN)


@SETTINGS
@given(
    case=ACTIVATION_CASES,
    scale=st.floats(0.1, 50),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(["float64", "float32"]),
)
def test_activation_gradients_on_the_gpu_match_numpy(cuda, case, scale, seed, dtype):
    x, node = activation_example(case, scale, seed, dtype)
    assert _same_as_numpy("activation", node, x, seed, cuda)
