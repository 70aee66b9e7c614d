"""The numpy backend's activations, each beside its gradient, vectorized over every cell.

ACTIVATION[name](x, params) is the forward pass; GRADIENT[name](x, grad, params)
is dL/dx from dL/dy, with PyTorch's autograd formulas (relu'(0) = 0, leaky_relu
and elu take their negative side's slope at 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from xopipe.backends.numpy_threads import in_flat_runs, thread_count

_ERF = np.frompyfunc(math.erf, 1, 1)

# From this many bytes of input up, relu runs in flat runs on threads (as its gradient
# does, numpy_select.py): below, waking a second thread costs more than it saves. Measured
# on 2 cores (AMD EPYC), warmed up, one thread against two: float32 3 x 511^2 (3.1 MB)
# 0.15 against 0.16-0.23 ms, 3 x 723^2 (6.3 MB) 0.59-0.73 against 0.39 ms; float64
# 3 x 383^2 (3.5 MB) 0.18 against 0.20 ms, 3 x 511^2 (6.3 MB) 0.40-0.42 against 0.33 ms.
RELU_THREADS_MIN_BYTES = 5 << 20

Params = Mapping[str, float | str]


# In float32, np.maximum against the scalar 0 ran at 6x a copy's time (numpy 2.4 here:
# 3 x 511^2 0.59 ms, a copy 0.09), against an array of zeros at 1.6x (0.15 ms), with the
# same bits. So float32 relu takes its zeros from a block of this many, read again and
# again from the cache.
ZEROS_BLOCK_CELLS = 1 << 16
_FLOAT32_ZEROS = np.zeros(ZEROS_BLOCK_CELLS, np.float32)
_FLOAT32_ZEROS.flags.writeable = False


def _relu(x: np.ndarray, params: Params) -> np.ndarray:
    """max(x, 0); a large array in flat runs shared among threads, each its own np.maximum
    (the same cells, the same bytes as one call)."""
    threads = thread_count() if x.nbytes >= RELU_THREADS_MIN_BYTES else 1
    plain = x.ndim == 0 or not x.flags.c_contiguous or not x.dtype.isnative
    if plain or (threads == 1 and x.dtype != np.float32):
        return np.maximum(x, 0)  # its own result type: a scalar, native byte order
    out = np.empty(x.shape, dtype=x.dtype)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    if threads == 1:
        _max_zero(flat_x, flat_out)
    else:
        in_flat_runs(x.size, threads, lambda part: _max_zero(flat_x[part], flat_out[part]))
    return out


def _max_zero(x: np.ndarray, out: np.ndarray) -> None:
    """out = np.maximum(x, 0) for flat x and out."""
    if x.dtype != np.float32:
        np.maximum(x, 0, out=out)
        return
    for start in range(0, x.size, ZEROS_BLOCK_CELLS):
        part = slice(start, start + ZEROS_BLOCK_CELLS)
        piece = x[part]
        np.maximum(piece, _FLOAT32_ZEROS[: piece.size], out=out[part])


def _leaky_relu(x: np.ndarray, params: Params) -> np.ndarray:
    return np.where(x > 0, x, x * x.dtype.type(float(params["negative_slope"])))


def _elu(x: np.ndarray, params: Params) -> np.ndarray:
    alpha = x.dtype.type(float(params["alpha"]))
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _gelu(x: np.ndarray, params: Params) -> np.ndarray:
    if params["approximate"] == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x**3)))
    # NumPy has no erf; math.erf per element is exact and still loop-free in Python code.
    erf = np.asarray(_ERF(x / math.sqrt(2.0))).astype(x.dtype)
    return 0.5 * x * (1.0 + erf)


def _sigmoid(x: np.ndarray, params: Params) -> np.ndarray:
    # exp(-log(1 + exp(-x))) never overflows, unlike 1 / (1 + exp(-x)).
    return np.exp(-np.logaddexp(0, -x))


def _softplus(x: np.ndarray, params: Params) -> np.ndarray:
    beta = x.dtype.type(float(params["beta"]))
    z = x * beta
    return np.where(z > float(params["threshold"]), x, np.logaddexp(0, z) / beta)


ACTIVATION = {
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "gelu": _gelu,
    "sigmoid": _sigmoid,
    "tanh": lambda x, params: np.tanh(x),
    "softplus": _softplus,
    "identity": lambda x, params: x.copy(),
}


def _relu_grad(x: np.ndarray, grad: np.ndarray, params: Params) -> np.ndarray:
    return np.where(x > 0, grad, grad.dtype.type(0))


def _leaky_relu_grad(x: np.ndarray, grad: np.ndarray, params: Params) -> np.ndarray:
    return np.where(x > 0, grad, grad * grad.dtype.type(float(params["negative_slope"])))


def _elu_grad(x: np.ndarray, grad: np.ndarray, params: Params) -> np.ndarray:
    alpha = grad.dtype.type(float(params["alpha"]))
    return np.where(x > 0, grad, grad * alpha * np.exp(np.minimum(x, 0)))


def _gelu_grad(x: np.ndarray, grad: np.ndarray, params: Params) -> np.ndarray:
    if params["approximate"] == "tanh":
        c, kappa = math.sqrt(2.0 / math.pi), 0.044715
        t = np.tanh(c * (x + kappa * x**3))
        slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * kappa * x * x)
        return grad * slope
    # d/dx x * Phi(x) = Phi(x) + x * phi(x), Phi and phi the normal cdf and density.
    cdf = 0.5 * (1.0 + np.asarray(_ERF(x / math.sqrt(2.0))).astype(x.dtype))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return grad * (cdf + x * pdf)


def _sigmoid_grad(x: np.ndarray, grad: np.ndarray, params: Params) -> np.ndarray:
    # sigmoid(x) * (1 - sigmoid(x)) = e / (1 + e)^2 with e = exp(-|x|): no overflow.
    e = np.exp(-np.abs(x))
    return grad * (e / (1.0 + e) ** 2)


def _tanh_grad(x: np.ndarray, grad: np.ndarray, params: Params) -> np.ndarray:
    t = np.tanh(x)
    return grad * (1.0 - t * t)


def _softplus_grad(x: np.ndarray, grad: np.ndarray, params: Params) -> np.ndarray:
    z = x * x.dtype.type(float(params["beta"]))
    # Above the threshold the forward returns x itself (slope 1); below, sigmoid(beta x).
    return np.where(z > float(params["threshold"]), grad, grad * _sigmoid(z, params))


GRADIENT = {
    "relu": _relu_grad,
    "leaky_relu": _leaky_relu_grad,
    "elu": _elu_grad,
    "gelu": _gelu_grad,
    "sigmoid": _sigmoid_grad,
    "tanh": _tanh_grad,
    "softplus": _softplus_grad,
    "identity": lambda x, grad, params: grad.copy(),
}
