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
    dilation: int = 1
    channels: int = 1  # input channels (pool and relu cases run on 3 channels)
    dtype: str = "float32"

    @property
    def cells(self) -> int:
        return self.channels * self.size * self.size


DTYPES = ("float32", "float64")


def _conv(size: int, dtype: str, what: str = "", **shape: int) -> Case:
    suffix = "" if dtype == "float32" else f" {dtype}"
    kernels, k = shape.get("kernels", 3), shape.get("kernel_size", 3)
    name = f"conv {size}^2 K{kernels} k{k}{what}{suffix}"
    return Case(name, "conv", size, dtype=dtype, **shape)


def all_cases(sizes: list[int]) -> list[Case]:
    """The table's rows for the given input sizes (9, 256, 1024, 4096 in full).

    From 256^2 up every case comes in float32 and float64, and conv at stride 1,
    2 and 3 and dilation 2, with a wide kernel (16 kernels of 5x5) up to 1024^2.
    """
    cases = [_conv(size, "float32") for size in sizes]
    large = [size for size in sizes if size >= 256]
    cases += [_conv(size, "float64") for size in large]
    for size in large:
        for dtype in DTYPES:
            cases += [
                _conv(size, dtype, " stride 2", stride=2),
                _conv(size, dtype, " stride 3", stride=3),
                _conv(size, dtype, " dilation 2", dilation=2),
            ]
    for size in large:
        if size <= 1024:  # torch takes seconds a call beyond
            cases += [_conv(size, dtype, kernels=16, kernel_size=5) for dtype in DTYPES]
    for size in sizes:
        pooled = size - 2 if size > 9 else size  # a conv output's size, even after a 3x3 conv
        for dtype in DTYPES if size >= 256 else DTYPES[:1]:
            name = f"max pool 2x2/2 3x{pooled}^2" + ("" if dtype == "float32" else f" {dtype}")
            cases.append(Case(name, "max_pool", pooled, channels=3, dtype=dtype))
    for size in large:
        half = size // 2 - 1
        for dtype in DTYPES:
            name = f"relu 3x{half}^2" + ("" if dtype == "float32" else f" {dtype}")
            cases.append(Case(name, "relu", half, channels=3, dtype=dtype))
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
