"""Settings the torch backend applies on a CUDA device: float32 parity, same bits, a memory share.

Imported by xopipe.backends.torch only, when backend.device is a GPU; the
settings are process-wide, as PyTorch keeps them.
"""

from __future__ import annotations

import logging
import os

import torch
import torch.utils.deterministic

from xopipe.errors import invalid

# Set by hydra_plugins/xopipe_launcher in each worker it forks: how many share the GPU.
WORKERS_VARIABLE = "XOPIPE_SWEEP_WORKERS"
# Of the device's memory, what the workers together may hold; the rest is left
# for their CUDA contexts, which the allocator's bound does not count.
WORKERS_SHARE = 0.9

log = logging.getLogger(__name__)


def indexed(device: torch.device, typed: str) -> torch.device:
    """`device` with its index: torch's CUDA calls refuse a bare torch.device("cuda").

    A bare `cuda` means the current device, as PyTorch reads it; an index this
    machine does not have is the user's mistake, said in one line.
    """
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if device.index is None else device.index
    if not 0 <= index < count:
        allowed = f"cuda or cuda:0..{count - 1} here (torch sees {count} CUDA device(s))"
        raise invalid("backend.device", typed, allowed)
    return torch.device("cuda", index)


def faithful() -> None:
    """float32 as the CPU backends compute it, and the same bits on every rerun."""
    # TF32 reads 10 of float32's 23 mantissa bits in conv and matmul: off, or
    # a float32 run parts from NumPy by about 1e-3 instead of 1e-7.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    # cuBLAS is deterministic only with a fixed workspace, read when it first starts.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False  # the same conv algorithm every run
    torch.use_deterministic_algorithms(True, warn_only=False)
    # Every op here writes each cell of its output: filling new memory with
    # NaN first (the deterministic mode's default) would only double the traffic.
    torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]


def memory_fraction(configured: float | None) -> float | None:
    """The share of the GPU's memory this process may allocate, or None for all of it.

    backend.memory_fraction when set; in a sweep's worker, an equal share of
    WORKERS_SHARE among the launcher's workers; otherwise no bound.
    """
    if configured is not None:
        if isinstance(configured, bool) or not 0 < configured <= 1:
            raise invalid("backend.memory_fraction", configured, "a number in (0, 1] or null")
        return float(configured)
    workers = os.environ.get(WORKERS_VARIABLE, "")
    if workers.isdigit() and int(workers) > 1:
        return WORKERS_SHARE / int(workers)
    return None


def bound_memory(device: torch.device, fraction: float | None) -> None:
    """Have the caching allocator refuse to hold more than `fraction` of the device.

    `device` carries its index (`indexed`): torch raises ValueError for a bare "cuda".
    """
    if fraction is None:
        return
    torch.cuda.set_per_process_memory_fraction(fraction, device)
    total = torch.cuda.get_device_properties(device).total_memory
    log.info(
        "%s: this process may allocate %.0f MiB (%.3f of it)",
        device,
        fraction * total / 2**20,
        fraction,
    )
