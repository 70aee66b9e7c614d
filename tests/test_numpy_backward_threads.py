"""The numpy backward pass's max pool and relu on threads: torch's gradients, bit for bit,
on any number of threads (each cell is written by one thread)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xopipe.backends.numpy_select as select
from xopipe.backends import get_backend

POOL = dict(stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False)


def _threads(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """`count` threads, from any size: the tests' arrays are smaller than threads pay for."""
    monkeypatch.setattr(select, "thread_count", lambda: count)
    monkeypatch.setattr(select, "POOL_THREADS_MIN_CELLS", 0)
    monkeypatch.setattr(select, "ELEMENTWISE_THREADS_MIN_CELLS", 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool_backward_on_threads_is_torchs_ties_included(monkeypatch, dtype):
    rng = np.random.default_rng(13)
    x = rng.integers(-2, 3, (3, 254, 254)).astype(dtype)  # ties in most windows
    grad = rng.uniform(-1, 1, (3, 127, 127)).astype(dtype)
    leaf = torch.from_numpy(x).requires_grad_()
    y = F.max_pool2d(leaf[None], 2)[0]
    (theirs,) = torch.autograd.grad(y, [leaf], torch.from_numpy(grad))
    backend = get_backend("numpy")
    output = backend.max_pool2d(x, size=(2, 2), **POOL)
    # Blocks of 10 output rows: 13 blocks, each with its own rows of the forward's output.
    monkeypatch.setattr(select, "POOL_BLOCK_CELLS", 10 * 3 * 127)
    routed = []
    real = select._routed
    monkeypatch.setattr(select, "_routed", lambda *args: routed.append(1) or real(*args))
    for count in (1, 3):
        _threads(monkeypatch, count)
        for kept in (None, output):  # the running argmax, and the forward's output (a run's)
            ours = backend.max_pool2d_backward(x, grad, size=(2, 2), output=kept, **POOL)
            np.testing.assert_array_equal(ours, theirs.numpy())
    assert len(routed) == 1 + 3  # the forward's output was used: once per thread


def test_relu_backward_on_threads_is_torchs(monkeypatch):
    rng = np.random.default_rng(14)
    x = rng.integers(-2, 3, (3, 200, 201)).astype("float64")  # zeros: relu'(0) = 0
    grad = rng.uniform(-1, 1, x.shape)
    leaf = torch.from_numpy(x).requires_grad_()
    (theirs,) = torch.autograd.grad(F.relu(leaf), [leaf], torch.from_numpy(grad))
    for count in (1, 3):
        _threads(monkeypatch, count)
        ours = get_backend("numpy").activation_backward("relu", x, grad, {})
        np.testing.assert_array_equal(ours, theirs.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_forward_on_threads_is_torchs(monkeypatch, dtype):
    """The forward relu in flat runs on threads: torch's values on any thread count (the
    sign of a zero aside: torch keeps -0.0, NumPy's maximum gives +0.0, equal values)."""
    import xopipe.backends.numpy_activations as activations

    rng = np.random.default_rng(15)
    x = rng.uniform(-1, 1, (3, 200, 201)).astype(dtype)
    x[0, 0, :5] = 0.0
    theirs = F.relu(torch.from_numpy(x)).numpy()
    bytes_by_count = set()
    for count in (1, 2, 3):
        monkeypatch.setattr(activations, "thread_count", lambda count=count: count)
        monkeypatch.setattr(activations, "RELU_THREADS_MIN_BYTES", 0)
        ours = get_backend("numpy").activation("relu", x, {})
        np.testing.assert_array_equal(ours, theirs)
        bytes_by_count.add(ours.tobytes())
    assert len(bytes_by_count) == 1
    strided = x[:, ::2]  # not contiguous: one call, the same values
    np.testing.assert_array_equal(
        get_backend("numpy").activation("relu", strided, {}), theirs[:, ::2]
    )


@pytest.mark.parametrize("block", [1 << 16, 1000])
def test_float32_relu_against_a_block_of_zeros_has_maximums_bits(monkeypatch, block):
    """float32 relu takes its zeros from a block (np.maximum against the scalar 0 is slow
    there): the same bits as np.maximum(x, 0), special values and NaN payloads included,
    over several blocks and threads."""
    import xopipe.backends.numpy_activations as activations

    rng = np.random.default_rng(16)
    x = rng.uniform(-1, 1, (3, 150, 161)).astype(np.float32)  # 72,450 cells
    payloads = np.array([0x7FC00001, 0xFFC00002, 0x7F800001, 0x00000001, 0x80000001], np.uint32)
    specials = np.concatenate(
        [
            np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, -np.nan], np.float32),
            payloads.view(np.float32),
        ]
    )
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, 4000, replace=False)] = np.resize(specials, 4000)
    expected = np.maximum(x, 0).view(np.uint32)
    monkeypatch.setattr(activations, "ZEROS_BLOCK_CELLS", block)
    monkeypatch.setattr(activations, "RELU_THREADS_MIN_BYTES", 0)
    for count in (1, 2):
        monkeypatch.setattr(activations, "thread_count", lambda count=count: count)
        got = get_backend("numpy").activation("relu", x, {})
        np.testing.assert_array_equal(got.view(np.uint32), expected)


def test_relu_of_a_scalar_or_a_big_endian_array_is_maximums_own(monkeypatch):
    """Whatever the thread count, relu returns what np.maximum(x, 0) returns: a NumPy
    scalar for a 0-d array, native byte order for a big-endian one."""
    import xopipe.backends.numpy_activations as activations

    monkeypatch.setattr(activations, "RELU_THREADS_MIN_BYTES", 0)
    monkeypatch.setattr(activations, "thread_count", lambda: 2)
    big_endian = np.linspace(-1, 1, 3 * 40 * 41).reshape(3, 40, 41).astype(">f4")
    for x in (np.array(-1.5, np.float32), np.array(2.5, np.float32), big_endian):
        got, expected = get_backend("numpy").activation("relu", x, {}), np.maximum(x, 0)
        assert type(got) is type(expected) and got.dtype == expected.dtype
        assert np.asarray(got).tobytes() == np.asarray(expected).tobytes()
