"""Time one case for one implementation; run as a worker process by the benchmark.

Implementations on the CPU: `torch-ref` (torch.nn.functional called directly
on tensors), and xopipe's backends `numpy`, `torch`, `loop` (NumPy arrays in
and out, each crossing once as in a run). On a GPU: `cuda-ref` (the same
torch.nn.functional calls on tensors resident on the device), `cuda`
(xopipe's torch backend with the input already on the device, as a run's
stages are) and `cuda-host` (xopipe's torch backend, NumPy in and out).
Every GPU implementation runs with the backend's settings (TF32 off,
deterministic algorithms) and waits for the device before the clock stops.
The backward cases (`torch-autograd` against the backends) are in bench/backward.py,
the training case (`torch-nn` against the backends) in bench/training.py.
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


# Calls before the clock starts, for at least this long: on these VMs a fresh process's
# first calls ran slow while its cores came up to speed (numpy conv 1024^2 stride 2
# float32: 1.2-1.7 ms a call over its first 8 calls, 1.1 ms in all 10 after 0.2 s of
# work on both cores; torch's 0.75-0.8 ms either way).
WARM_UP_SECONDS = 0.2


def median_seconds(
    work: Callable[[], object],
    repeats: int,
    budget: float = 20.0,
    warm_up: float = WARM_UP_SECONDS,
) -> float:
    """Median of `repeats` timings (fewer if one run already takes most of the budget),
    after at least one call and `warm_up` seconds of them: first-call allocation, thread
    pools, caches, the cores' speed."""
    started = time.perf_counter()
    work()
    while time.perf_counter() - started < warm_up:
        work()
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


def _torch_reference(case: Case, device: str = "cpu") -> Callable[[], object]:
    import torch
    import torch.nn.functional as F

    x, weight, _ = _inputs(case)
    xt, wt = torch.from_numpy(x)[None].to(device), torch.from_numpy(weight).to(device)
    if device != "cpu":
        from xopipe.backends import gpu

        gpu.faithful()  # the backend's settings: same ops, same arithmetic

    def done(t: Any) -> object:
        if device == "cpu":
            return t.numpy()  # free on the CPU: NumPy out, as the backends give
        torch.cuda.synchronize()  # the clock stops when the device is done
        return t

    if case.op == "conv":
        return lambda: done(F.conv2d(xt, wt, stride=case.stride, dilation=case.dilation))
    if case.op == "max_pool":
        return lambda: done(F.max_pool2d(xt, 2))
    if case.op == "relu":
        return lambda: done(F.relu(xt))

    def pipeline() -> object:  # the seed's DAG: conv / 9, zero fill + 2x2 max pool, relu
        conv = F.conv2d(xt, wt) / 9
        pad = (0, conv.shape[-1] % 2, 0, conv.shape[-2] % 2)
        return done(F.max_pool2d(F.pad(conv, pad), 2)), done(F.relu(conv))

    return pipeline


def _backend_work(
    case: Case, backend_name: str, device: str | None = None, resident: bool = False
) -> Callable[[], object]:
    """The case on a backend as a run does it: the input crosses in, each kept array out.

    resident: the input is on the backend before the clock starts and the
    results stay there (the backend only waits for them), as between stages.
    """
    from xopipe.backends import get_backend

    backend = get_backend(backend_name, **({"device": device} if device else {}))
    x, weight, bias = _inputs(case)
    on_device = backend.to_backend(x)

    def cross_in(array: np.ndarray) -> Any:
        return on_device if resident else backend.to_backend(array)

    def cross_out(array: Any) -> object:
        if not resident:
            return backend.to_host(array)
        backend.wait()
        return array

    conv_args: dict[str, Any] = dict(
        pads=(0, 0, 0, 0), dilation=(case.dilation,) * 2, groups=1, padding_mode="zeros"
    )
    pool_args: dict[str, Any] = dict(
        size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False
    )

    def conv(on_backend: BackendArray, divisor: float | None) -> BackendArray:
        stride = (case.stride, case.stride)
        return backend.conv2d(on_backend, weight, bias, stride=stride, divisor=divisor, **conv_args)

    if case.op == "conv":
        return lambda: cross_out(conv(cross_in(x), None))
    if case.op == "max_pool":
        return lambda: cross_out(backend.max_pool2d(cross_in(x), **pool_args))
    if case.op == "relu":
        return lambda: cross_out(backend.activation("relu", cross_in(x), {}))

    def pipeline() -> object:
        features = conv(cross_in(x), 9.0)
        pad = (0, features.shape[-1] % 2, 0, features.shape[-2] % 2)
        filled = backend.pad2d(features, pad, "constant", 0.0) if any(pad) else features
        pooled = backend.max_pool2d(filled, **pool_args)
        relu = backend.activation("relu", features, {})
        return [cross_out(a) for a in (features, pooled, relu)]

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


def gpu_peak_memory(size: int) -> tuple[int, int]:
    """Peak bytes the torch backend allocates on the GPU for the seed pipeline at
    size^2 (NumPy in and out, as a run), and the bytes of the arrays a run keeps
    there until the end: the input and every stage's output."""
    import torch

    case = Case("", "pipeline", size)
    work = _backend_work(case, "torch", "cuda")
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    outputs = work()
    peak = torch.cuda.max_memory_allocated() - before
    assert isinstance(outputs, list)
    return peak, case.cells * 4 + sum(int(array.nbytes) for array in outputs)


def _work(implementation: str, case: Case) -> Callable[[], object]:
    if case.op == "train_epoch":
        from xopipe.bench import training

        if implementation == training.REFERENCE:
            return training.reference_work(case)
        return training.backend_work(case, implementation)
    if case.op.startswith("backward"):
        from xopipe.bench import backward

        if implementation == backward.REFERENCE:
            return backward.reference_work(case)
        return backward.backend_work(case, implementation)
    if implementation == "torch-ref":
        return _torch_reference(case)
    if implementation == "cuda-ref":
        return _torch_reference(case, "cuda")
    if implementation in ("cuda", "cuda-host"):
        return _backend_work(case, "torch", "cuda", resident=implementation == "cuda")
    return _backend_work(case, implementation)


def run_worker(implementation: str, cases: list[Case], repeats: int) -> dict[str, float]:
    results: dict[str, float] = {}
    for case in cases:
        if implementation == "loop" and case.size > LOOP_MAX_SIZE:
            continue
        work = _work(implementation, case)
        # An epoch goes on from the weights the last one left: a warm-up by time would
        # start each implementation's timed epochs from a different number of steps.
        warm_up = 0.0 if case.op == "train_epoch" else WARM_UP_SECONDS
        count = repeats if implementation != "loop" else 3
        results[case.name] = median_seconds(work, count, warm_up=warm_up)
    return results


if __name__ == "__main__":  # python -m xopipe.bench.timing SUITE IMPL REPEATS CASE SIZES...
    from xopipe.bench.cases import SUITES

    suite, implementation = sys.argv[1], sys.argv[2]
    repeats, index = int(sys.argv[3]), int(sys.argv[4])
    case = SUITES[suite]([int(s) for s in sys.argv[5:]])[index]
    print(json.dumps(run_worker(implementation, [case], repeats)))
