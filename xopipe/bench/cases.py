"""What is measured: kernels of work at several sizes, as in the performance issue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    op: str  # conv | max_pool | relu | pipeline; backward_pipeline | ...; train_epoch
    size: int  # input rows = cols
    kernels: int = 3
    kernel_size: int = 3
    stride: int = 1
    channels: int = 1  # input channels (pool and relu cases run on 3 channels)
    dtype: str = "float32"

    @property
    def cells(self) -> int:
        return self.channels * self.size * self.size


def all_cases(sizes: list[int]) -> list[Case]:
    """The table's rows for the given input sizes (9, 256, 1024, 4096 in full)."""
    cases: list[Case] = []
    for size in sizes:
        cases.append(Case(f"conv {size}^2 K3 k3", "conv", size))
    for size in sizes:
        if size >= 1024:
            cases.append(Case(f"conv {size}^2 K3 k3 float64", "conv", size, dtype="float64"))
    if 1024 in sizes:
        cases.append(Case("conv 1024^2 K16 k5", "conv", 1024, kernels=16, kernel_size=5))
        cases.append(Case("conv 1024^2 K3 k3 stride 2", "conv", 1024, stride=2))
    for size in sizes:
        pooled = size - 2 if size > 9 else size  # a conv output's size, even after a 3x3 conv
        cases.append(Case(f"max pool 2x2/2 3x{pooled}^2", "max_pool", pooled, channels=3))
    for size in sizes:
        if size >= 256:
            half = size // 2 - 1
            cases.append(Case(f"relu 3x{half}^2", "relu", half, channels=3))
    for size in sizes:
        cases.append(Case(f"seed pipeline {size}^2", "pipeline", size))
    return cases


def gpu_cases(sizes: list[int]) -> list[Case]:
    """The GPU table's rows: float32 conv, pool, relu and the seed pipeline, up to 16384^2."""
    cases = [Case(f"conv {size}^2 K3 k3", "conv", size) for size in sizes]
    for size in sizes:  # each on a 3-kernel conv's output, as in the seed pipeline
        cases.append(Case(f"max pool 2x2/2 3x{size - 2}^2", "max_pool", size - 2, channels=3))
    cases += [Case(f"relu 3x{size - 2}^2", "relu", size - 2, channels=3) for size in sizes]
    cases += [Case(f"seed pipeline {size}^2", "pipeline", size) for size in sizes]
    return cases


def backward_cases(sizes: list[int]) -> list[Case]:
    """Seed pipeline, conv alone (3 kernels 3x3), 2x2 max pool alone (on a conv's output
    of that size), each in float32 and float64."""
    cases = []
    for op, name in (
        ("backward_pipeline", "seed pipeline {n}^2"),
        ("backward_conv", "conv {n}^2 K3 k3"),
        ("backward_max_pool", "max pool 2x2/2 3x{m}^2"),
    ):
        for size in sizes:
            for dtype in ("float32", "float64"):
                pooled = size - 2 if op == "backward_max_pool" else size
                label = name.format(n=size, m=pooled)
                channels = 3 if op == "backward_max_pool" else 1
                cases.append(Case(f"{label} {dtype}", op, pooled, channels=channels, dtype=dtype))
    return cases


def training_cases(sizes: list[int]) -> list[Case]:
    """One epoch of xopipe-train's default (xopipe/bench/training.py); `sizes` are not used:
    the default data is 9x9."""
    name = "one epoch: 200 images 9x9, batch 16, float64"
    return [Case(name, "train_epoch", 9, dtype="float64")]


# Which cases a worker process times, by suite.
SUITES = {
    "cpu": all_cases,
    "cuda": gpu_cases,
    "backward": backward_cases,
    "training": training_cases,
}
