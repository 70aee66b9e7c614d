"""The numpy backend's conv strategies, each against torch on every shape class it serves.

"patches" (im2col in one copy) serves small maps, "rows" (a row buffer shared by the
kh taps, in blocks shared among threads) the rest; both must give torch's numbers for
tiny, odd, strided, dilated, wide and grouped convs in float32 and float64, and the
backend must actually take each branch of its choice.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xopipe.backends import get_backend, numpy_conv, numpy_threads
from xopipe.backends.numpy_conv import Geometry

TOL = {np.float64: 1e-12, np.float32: 1e-5}

SHAPES = {
    # name: (C, H, W, K, (kh, kw), stride, dilation, groups)
    "tiny 1x1": (1, 1, 1, 1, (1, 1), (1, 1), (1, 1), 1),
    "tiny whole-input kernel": (1, 2, 3, 2, (2, 3), (1, 1), (1, 1), 1),
    "odd": (1, 13, 17, 3, (3, 2), (1, 1), (1, 1), 1),
    "channels": (3, 11, 9, 4, (2, 3), (1, 1), (1, 1), 1),
    "stride 2": (1, 23, 19, 3, (3, 3), (2, 2), (1, 1), 1),
    "stride 3": (2, 22, 25, 3, (3, 3), (3, 3), (1, 1), 1),
    "stride 2x3": (1, 20, 21, 2, (3, 2), (2, 3), (1, 1), 1),
    "stride past the window": (1, 19, 18, 2, (2, 2), (4, 3), (1, 1), 1),
    "dilation 2": (1, 21, 20, 3, (3, 3), (1, 1), (2, 2), 1),
    "dilation 3x1": (2, 17, 14, 2, (2, 3), (1, 1), (3, 1), 1),
    "stride 2 dilation 2": (1, 24, 23, 3, (3, 3), (2, 2), (2, 2), 1),
    "stride 3 dilation 2": (1, 25, 22, 2, (3, 2), (3, 1), (2, 3), 1),
    "stride 2 dilation 3": (1, 26, 19, 2, (3, 3), (2, 2), (3, 1), 1),
    "wide K16 k5": (1, 20, 24, 16, (5, 5), (1, 1), (1, 1), 1),
    "wide k7x1": (1, 15, 12, 3, (7, 1), (1, 1), (1, 1), 1),
    "groups 2": (4, 12, 13, 6, (3, 3), (1, 2), (1, 1), 2),
    "depthwise": (3, 14, 11, 3, (3, 2), (2, 1), (2, 1), 3),
}


def _case(name: str, dtype, seed: int = 0):
    c, h, w, k, size, stride, dilation, groups = SHAPES[name]
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (c, h, w)).astype(dtype)
    weight = rng.uniform(-1, 1, (k, c // groups, *size)).astype(dtype)
    bias = rng.uniform(-1, 1, k).astype(dtype)
    return x, weight, bias, stride, dilation, groups


def _torch(x, weight, bias, stride, dilation, groups, divisor):
    t = F.conv2d(
        torch.from_numpy(x)[None], torch.from_numpy(weight), None, stride, 0, dilation, groups
    )
    if divisor is not None:
        t = t / divisor
    return (t + torch.from_numpy(bias)[:, None, None])[0].numpy()


def _check(strategy, name, dtype, divisor=None) -> np.ndarray:
    x, weight, bias, stride, dilation, groups = _case(name, dtype)
    got = numpy_conv.conv2d(x, weight, bias, stride, dilation, groups, divisor, strategy=strategy)
    expected = _torch(x, weight, bias, stride, dilation, groups, divisor)
    assert got.dtype == dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype])
    return got


@pytest.mark.parametrize("divisor", [None, 9.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", SHAPES)
@pytest.mark.parametrize("strategy", ["patches", "rows"])
def test_each_strategy_matches_torch_on_every_shape_class(strategy, name, dtype, divisor):
    _check(strategy, name, dtype, divisor)


@pytest.fixture
def small_blocks(monkeypatch):
    """ "rows" cut into many blocks of few rows, columns into chunks, on three threads:
    every seam of the strategy shows on a small input."""
    monkeypatch.setattr(numpy_conv, "ROWS_BLOCK_CELLS", 40)
    monkeypatch.setattr(numpy_conv, "MATMUL_MAX_MACS", 100)
    monkeypatch.setattr(numpy_conv, "THREADS_MIN_MACS", 0)
    monkeypatch.setattr(numpy_conv, "thread_count", lambda: 3)
    shares: list[int] = []
    run = numpy_threads.WORKERS.run

    def counted(work, parts, count):
        shares.append(min(count, len(parts)))
        run(work, parts, count)

    monkeypatch.setattr(numpy_conv.WORKERS, "run", counted)
    return shares


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", SHAPES)
def test_rows_in_blocks_chunks_and_threads_matches_torch(small_blocks, name, dtype):
    out = _check("rows", name, dtype, divisor=9.0)
    groups = SHAPES[name][-1]
    # A block of one output row each: as many blocks as rows in all groups.
    assert small_blocks == [min(3, out.shape[1] * groups)]


# Column stride 2: every block copies the float32 cells as low halves of 8-byte words,
# except a block that reads the input's last cell, which has no 8 bytes behind it
# ("stride 2": row 22 of 23, column 18 of 19; "groups 2": the second group's last row
# and column): that one gathers.
PAIRED = {"stride 2": 1, "stride 2 dilation 2": 0, "stride 2 dilation 3": 0, "groups 2": 1}


@pytest.mark.parametrize("name", PAIRED)
def test_float32_column_stride_2_copies_words_with_the_gathers_bits(
    small_blocks, monkeypatch, name
):
    x, weight, bias, stride, dilation, groups = _case(name, np.float32, seed=3)
    paired: list[int] = []
    copy = numpy_conv.copy_low_halves

    def counted(target, *args):
        paired.append(target.size)
        copy(target, *args)

    monkeypatch.setattr(numpy_conv, "copy_low_halves", counted)
    got = numpy_conv.conv2d(x, weight, bias, stride, dilation, groups, 9.0, strategy="rows")
    monkeypatch.setattr(numpy_conv, "copy_low_halves", lambda *args: pytest.fail("not paired"))
    monkeypatch.setattr(numpy_conv.sys, "byteorder", "big")  # the gather everywhere
    gathered = numpy_conv.conv2d(x, weight, bias, stride, dilation, groups, 9.0, strategy="rows")
    assert got.tobytes() == gathered.tobytes()
    blocks = got.shape[1] * groups  # one output row a block (small_blocks)
    assert len(paired) == blocks - PAIRED[name]
    np.testing.assert_allclose(
        got, _torch(x, weight, bias, stride, dilation, groups, 9.0), rtol=1e-5, atol=1e-5
    )


def _branch_taken(monkeypatch) -> list[str]:
    taken: list[str] = []
    for strategy in ("patches", "rows"):
        original = getattr(numpy_conv, f"_{strategy}")

        def spy(*args, _original=original, _name=strategy, **kwargs):
            taken.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(numpy_conv, f"_{strategy}", spy)
    return taken


# Through the backend, as a run calls it, with the strategy the shape chooses.
BACKEND_CASES = [
    # (C, size, K, k, stride, dilation, groups, padding mode, the strategy it takes)
    (1, 9, 3, 3, 1, 1, 1, "zeros", "patches"),  # the seed's size
    (1, 48, 3, 3, 2, 1, 1, "reflect", "patches"),
    (2, 30, 4, 3, 1, 2, 2, "circular", "patches"),
    (1, 256, 3, 3, 1, 1, 1, "zeros", "rows"),
    (1, 256, 3, 3, 2, 1, 1, "zeros", "rows"),
    (1, 256, 3, 3, 3, 1, 1, "replicate", "rows"),
    (1, 256, 3, 3, 1, 2, 1, "zeros", "rows"),
    (1, 96, 16, 5, 1, 1, 1, "zeros", "rows"),
    (3, 150, 6, 3, 2, 3, 3, "reflect", "rows"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", BACKEND_CASES)
def test_the_backend_takes_the_strategy_the_shape_calls_for(monkeypatch, case, dtype):
    c, size, k, ksize, s, d, groups, mode, strategy = case
    taken = _branch_taken(monkeypatch)
    rng = np.random.default_rng(size)
    x = rng.uniform(-1, 1, (c, size, size + 3)).astype(dtype)
    weight = rng.uniform(-1, 1, (k, c // groups, ksize, ksize)).astype(dtype)
    bias = rng.uniform(-1, 1, k).astype(dtype)
    pads = (1, 2, 2, 1)
    got = get_backend("numpy").conv2d(
        x,
        weight,
        bias,
        stride=(s, s),
        pads=pads,
        dilation=(d, d),
        groups=groups,
        padding_mode=mode,
        divisor=None,
    )
    padded = F.pad(torch.from_numpy(x)[None], pads, mode="constant" if mode == "zeros" else mode)
    expected = F.conv2d(padded, torch.from_numpy(weight), torch.from_numpy(bias), s, 0, d, groups)[
        0
    ].numpy()
    assert taken == [strategy]
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype])


def test_small_maps_take_patches_and_large_ones_rows():
    def geometry(size, kernels=3, k=3, stride=1, dilation=1):
        out = (size - dilation * (k - 1) - 1) // stride + 1
        return Geometry(1, kernels, (k, k), (stride, stride), (dilation, dilation), (out, out))

    assert numpy_conv.choose(geometry(9), 1) == "patches"
    assert numpy_conv.choose(geometry(64), 1) == "patches"
    assert numpy_conv.choose(geometry(256), 1) == "rows"
    assert numpy_conv.choose(geometry(64, kernels=16, k=5), 1) == "rows"  # 25 x 60^2 cells
    # A vertical dilation splits "rows" into classes, each with its own fixed cost.
    assert numpy_conv.choose(geometry(112, dilation=2), 1) == "patches"
    assert numpy_conv.choose(geometry(112), 1) == "rows"


def _threaded_conv(_: int) -> np.ndarray:
    x, weight, bias, stride, dilation, groups = _case("stride 3", np.float64, seed=4)
    return numpy_conv.conv2d(x, weight, bias, stride, dilation, groups, None, strategy="rows")


def test_a_forked_worker_gets_threads_of_its_own(small_blocks, monkeypatch):
    """xopipe's launcher forks its workers: a pool made before the fork has no threads
    in the child (its idle one is the parent's), so the child must make its own
    instead of waiting on it forever."""
    monkeypatch.setattr(numpy_conv, "thread_count", lambda: 2)  # one pooled thread
    expected = _threaded_conv(0)  # the parent's pool now exists, its thread idle
    assert small_blocks == [2]
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_threaded_conv, (0,)).get(timeout=60)
    np.testing.assert_array_equal(got, expected)


def test_thread_count_follows_the_libraries_settings(monkeypatch):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    cores = len(os.sched_getaffinity(0))
    assert numpy_threads.thread_count() == cores
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert numpy_threads.thread_count() == 1
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "not a number")
    monkeypatch.setenv("OMP_NUM_THREADS", "0")
    assert numpy_threads.thread_count() == cores  # neither is a count: ignored


def test_worker_errors_reach_the_caller():
    def work(handout):
        for part in handout:
            if part == 3:
                raise ValueError("part 3")

    with pytest.raises(ValueError, match="part 3"):
        numpy_threads.WORKERS.run(work, [0, 1, 2, 3, 4, 5], 2)


def test_a_thread_held_back_leaves_its_parts_to_the_others():
    """On a shared machine one thread may not run for a while: the parts go to the
    thread that asks, so the other does them instead of waiting."""
    caller = threading.get_ident()
    done_by: dict[int, int] = {}

    def work(handout):
        for part in handout:
            if threading.get_ident() != caller:
                time.sleep(0.2)  # held back
            done_by[part] = threading.get_ident()

    numpy_threads.WORKERS.run(work, list(range(20)), 2)
    assert sorted(done_by) == list(range(20))
    assert list(done_by.values()).count(caller) >= 18


@pytest.mark.parametrize("pads", [(0, 0, 0, 0), (1, 0, 0, 0), (0, 0, 3, 0), (2, 3, 1, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_constant_padding_matches_torch_on_every_side(pads, dtype):
    x = np.random.default_rng(9).uniform(-1, 1, (2, 5, 4)).astype(dtype)
    expected = F.pad(torch.from_numpy(x)[None], pads, mode="constant", value=-1.5)[0].numpy()
    got = get_backend("numpy").pad2d(x, pads, "constant", -1.5)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)
