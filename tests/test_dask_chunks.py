"""backend=dask on chunks of 5 to 8 cells: every forward property strategy against NumPy.

The numbers must not depend on where chunk edges fall: each drawn case runs
on the NumPy backend and on dask with tiny chunks (tests/dask_replay.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.dask_replay import replay_activation, replay_conv, replay_pad, replay_pool
from xopipe.backends import get_backend
from xopipe.errors import UserError
from xopipe.experiment import build_experiment, execute

REPLAYS = [replay_conv, replay_pool, replay_activation, replay_pad]


@pytest.mark.parametrize("replay", REPLAYS, ids=lambda r: r.__name__.removeprefix("replay_"))
def test_every_forward_strategy_on_tiny_chunks_matches_numpy(replay):
    replay(lambda chunks: get_backend("dask", chunks=chunks))


@pytest.mark.parametrize("scheduler", ["threads", "processes", "synchronous"])
def test_each_local_scheduler_gives_the_numpy_numbers(make_config, scheduler):
    overrides = ["input=random", "input.shape=[2,23,19]", "kernels=random"]
    overrides += ["kernels.shape=[3,2,3,2]", "conv.stride=2", "conv.padding=2"]
    overrides += ["conv.padding_mode=circular", "pool.size=3", "pool.stride=2"]
    experiment = build_experiment(make_config(*overrides))
    want = execute(experiment, get_backend("numpy")).arrays
    results = execute(experiment, get_backend("dask", chunks=6, scheduler=scheduler))
    got = dict(zip(results.arrays, results.compute(*results.arrays.values()), strict=True))
    assert list(got) == list(want)
    for name, array in want.items():
        np.testing.assert_allclose(got[name], array, rtol=1e-12, atol=1e-12, err_msg=name)


def test_the_arrays_stay_chunked_until_computed(make_config):
    """execute builds the graph only: the results are dask arrays, chunked as asked."""
    import dask.array as da

    experiment = build_experiment(make_config("input=random", "input.shape=[40,40]"))
    results = execute(experiment, get_backend("dask", chunks=8))
    assert results.lazy
    conv = results.arrays["conv"]
    assert isinstance(conv, da.Array) and conv.shape == (3, 38, 38)
    assert conv.numblocks[1:] == (5, 5)  # 38 rows in tiles of 8
    # A stride-2 pool reads tiles of 2 x 4 outputs: its input rechunked to multiples of 2.
    assert set(results.arrays["pool"].chunks[1][:-1]) == {4}


@pytest.mark.parametrize(
    ("chunks", "scheduler", "address", "key"),
    [
        (0, "threads", None, "backend.chunks"),
        (True, "threads", None, "backend.chunks"),
        (64, "cluster", None, "backend.scheduler"),
        (64, "threads", "localhost:8786", "backend.address"),
    ],
)
def test_bad_options_are_refused_in_one_line(chunks, scheduler, address, key):
    with pytest.raises(UserError, match=f"^{key} must be"):
        get_backend("dask", chunks=chunks, scheduler=scheduler, address=address)


def test_a_loss_is_refused_before_any_work(make_config):
    with pytest.raises(UserError) as refused:
        build_experiment(make_config("backend=dask", "loss=sum"))
    assert str(refused.value) == (
        "backend=dask computes the forward pass only; loss=sum needs backend loop, numpy or torch"
    )
