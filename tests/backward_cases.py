"""The backward property tests' runner and oracle: a stage's gradients by xopipe and by torch.

xopipe runs the op's forward then its `backward` on a backend, with a random
dL/dy (every cell different, so a gradient sent to the wrong cell shows);
torch.autograd differentiates the property tests' own torch.nn oracle with
the same dL/dy. Used by tests/test_backward_*.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch
from hypothesis import settings

from tests.property_cases import COMPARED_SHARE, _keyof
from xopipe.backends import Backend, get_backend
from xopipe.errors import UserError
from xopipe.ops import OPS, StageConfig

# float64 within 1e-10, float32 within 1e-4 (relative and absolute).
TOL = {"float64": 1e-10, "float32": 1e-4}


@dataclass
class Gradients:
    """One stage's forward and backward, as NumPy."""

    y: np.ndarray
    grad_y: np.ndarray  # the dL/dy given
    grad_x: np.ndarray
    grad_weight: np.ndarray | None = None
    grad_bias: np.ndarray | None = None


def random_grad(shape, dtype, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 1).uniform(-1, 1, shape).astype(dtype)


def run_backward(op: str, node: dict, x: np.ndarray, backend: str | Backend, seed: int):
    """xopipe's gradients, or the UserError its stage raised when prepared.

    The stage is prepared as a pipeline prepares it (knowing its input's
    shape, so 2-D kernels are repeated across channels); every array crosses
    to the backend and back once.
    """
    settings_ = {k: v for k, v in node.items() if k != "kernels"}
    stage = StageConfig(
        SimpleNamespace(**settings_), _keyof(op), x.dtype, node.get("kernels"), {}, x.shape
    )
    try:
        params = OPS[op].prepare(stage)
        shape = OPS[op].output_shape(x.shape, params)
    except UserError as error:
        return error
    chosen = get_backend(backend) if isinstance(backend, str) else backend
    inputs = chosen.to_backend(x)
    y = OPS[op].forward(chosen, inputs, params)
    grad_y = random_grad(shape, x.dtype, seed)
    backward = OPS[op].backward
    assert backward is not None, op
    grad_x, weights = backward(chosen, inputs, y, chosen.to_backend(grad_y), params)
    result = Gradients(chosen.to_host(y), grad_y, chosen.to_host(grad_x))
    if weights is not None:
        result.grad_weight = chosen.to_host(weights.weight)
        result.grad_bias = chosen.to_host(weights.bias)
    return result


def autograd(compute, inputs: list[np.ndarray], grad_y: np.ndarray):
    """torch's gradients of compute(*inputs) for dL/dy = grad_y, or the error torch raised."""
    tensors = [torch.from_numpy(a.copy()).requires_grad_() for a in inputs]
    try:
        y = compute(*tensors)
        return [g.numpy() for g in torch.autograd.grad(y, tensors, torch.from_numpy(grad_y))]
    except (RuntimeError, ValueError) as error:
        return error


def assert_close(got: np.ndarray, expected: np.ndarray, dtype: str, what: str) -> None:
    assert got.dtype == np.dtype(dtype), what
    assert got.shape == expected.shape, what
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype], err_msg=what)


class Compared:
    """The distinct examples a property test compared numerically (and refused, where any)."""

    def __init__(self) -> None:
        self.compared: set[str] = set()
        self.refused: set[str] = set()

    def note(self, case, refused: bool = False) -> None:
        (self.refused if refused else self.compared).add(repr(case))

    def check(self, refused_at_least: int = 0) -> None:
        least = int(COMPARED_SHARE * settings.default.max_examples)
        counts = f"{len(self.compared)} compared, {len(self.refused)} refused"
        assert len(self.compared) >= least, f"{counts}; at least {least} must be compared"
        assert len(self.refused) >= refused_at_least, f"{counts}; refusals are not exercised"
