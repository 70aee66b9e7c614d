"""Time the cases for one implementation; run as a worker process by the benchmark.

Implementations: `torch-ref` (torch.nn.functional called directly on tensors),
and xopipe's backends `numpy`, `torch`, `loop` (NumPy arrays in and out, each
crossing once as in a run).
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from xopipe.backends.base import BackendArray
from xopipe.bench.cases import Case

# The loop backend is a readable reference, not a fast path: only small inputs.
LOOP_MAX_SIZE = 64


def median_seconds(work: Callable[[], object], repeats: int, budget: float = 20.0) -> float:
    """Median of `repeats` timings (fewer if one run already takes most of the budget)."""
    work()  # warm up: first-call allocation, thread pools, caches
    times: list[float] = []
    started = time.perf_counter()
    for _ in range(repeats):
        begin = time.perf_counter()
        work()
        times.append(time.perf_counter() - begin)
        if time.perf_counter() - started > budget and len(times) >= 3:
            break
    return float(np.median(times))


def _inputs(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (case.channels, case.size, case.size)).astype(case.dtype)
    k = case.kernel_size
    weight = rng.uniform(-1, 1, (case.kernels, case.channels, k, k)).astype(case.dtype)
    return x, weight, np.zeros(case.kernels, dtype=case.dtype)


def _torch_reference(case: Case) -> Callable[[], object]:
    import torch
    import torch.nn.functional as F

    x, weight, _ = _inputs(case)
    xt, wt = torch.from_numpy(x)[None], torch.from_numpy(weight)
    if case.op == "conv":
        return lambda: F.conv2d(xt, wt, stride=case.stride).numpy()
    if case.op == "max_pool":
        return lambda: F.max_pool2d(xt, 2).numpy()
    if case.op == "relu":
        return lambda: F.relu(xt).numpy()

    def pipeline() -> object:  # the seed's DAG: conv / 9, zero fill + 2x2 max pool, relu
        conv = F.conv2d(xt, wt) / 9
        pad = (0, conv.shape[-1] % 2, 0, conv.shape[-2] % 2)
        return F.max_pool2d(F.pad(conv, pad), 2).numpy(), F.relu(conv).numpy()

    return pipeline


def _backend_work(case: Case, backend_name: str) -> Callable[[], object]:
    """The case on a backend as a run does it: the input crosses in, each kept array out."""
    from xopipe.backends import get_backend

    backend = get_backend(backend_name)
    x, weight, bias = _inputs(case)
    conv_args: dict[str, Any] = dict(
        pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, padding_mode="zeros"
    )
    pool_args: dict[str, Any] = dict(
        size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False
    )

    def conv(on_backend: BackendArray, divisor: float | None) -> BackendArray:
        stride = (case.stride, case.stride)
        return backend.conv2d(on_backend, weight, bias, stride=stride, divisor=divisor, **conv_args)

    if case.op == "conv":
        return lambda: backend.to_host(conv(backend.to_backend(x), None))
    if case.op == "max_pool":
        return lambda: backend.to_host(backend.max_pool2d(backend.to_backend(x), **pool_args))
    if case.op == "relu":
        return lambda: backend.to_host(backend.activation("relu", backend.to_backend(x), {}))

    def pipeline() -> object:
        features = conv(backend.to_backend(x), 9.0)
        pad = (0, features.shape[-1] % 2, 0, features.shape[-2] % 2)
        filled = backend.pad2d(features, pad, "constant", 0.0) if any(pad) else features
        pooled = backend.max_pool2d(filled, **pool_args)
        relu = backend.activation("relu", features, {})
        return [backend.to_host(a) for a in (features, pooled, relu)]

    return pipeline


def conv_extra_memory(case: Case) -> float:
    """Peak memory NumPy's conv allocates beyond its output, as a multiple of the output."""
    from xopipe.backends import get_backend

    backend = get_backend("numpy")
    x, weight, bias = _inputs(case)
    tracemalloc.start()
    out = backend.conv2d(
        x,
        weight,
        bias,
        stride=(1, 1),
        pads=(0, 0, 0, 0),
        dilation=(1, 1),
        groups=1,
        padding_mode="zeros",
        divisor=None,
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - out.nbytes) / out.nbytes


def run_worker(implementation: str, cases: list[Case], repeats: int) -> dict[str, float]:
    results: dict[str, float] = {}
    for case in cases:
        if implementation == "loop" and case.size > LOOP_MAX_SIZE:
            continue
        if implementation == "torch-ref":
            work = _torch_reference(case)
        else:
            work = _backend_work(case, implementation)
        results[case.name] = median_seconds(work, repeats if implementation != "loop" else 3)
    return results


if __name__ == "__main__":  # python -m xopipe.bench.timing IMPLEMENTATION REPEATS CASE SIZES...
    from xopipe.bench.cases import all_cases

    implementation, repeats, index = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    case = all_cases([int(s) for s in sys.argv[4:]])[index]
    print(json.dumps(run_worker(implementation, [case], repeats)))
