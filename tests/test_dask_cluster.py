"""backend=dask on a real dask.distributed cluster: a scheduler and two worker processes.

The test starts `dask scheduler` and two `dask worker` processes on
127.0.0.1 (free ports), replays every forward property strategy through
`backend.address` against the NumPy backend, runs the seed end to end, and
stops the three processes by their PIDs.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.dask_replay import replay_activation, replay_conv, replay_pad, replay_pool
from xopipe.backends import get_backend
from xopipe.backends.dask import disconnect

pytestmark = pytest.mark.slow  # a cluster takes seconds to start, the replays a minute

DASK = str(Path(sys.executable).with_name("dask"))  # the command distributed installs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[str]:
    """tcp://127.0.0.1:PORT of a scheduler with two single-threaded worker processes."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask-cluster")
    address = f"tcp://127.0.0.1:{_free_port()}"
    processes: list[subprocess.Popen] = []
    try:
        command = [DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":")[-1]]
        processes.append(_start([*command, "--no-dashboard"], logs / "scheduler.log"))
        for n in range(2):
            worker = [DASK, "worker", address, "--nthreads", "1", "--host", "127.0.0.1"]
            worker += ["--no-dashboard", "--name", f"worker-{n}"]
            processes.append(_start(worker, logs / f"worker-{n}.log"))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2
        yield address
    finally:
        disconnect(address)
        for process in reversed(processes):  # workers first, by their PIDs
            _stop(process)


def _start(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as stream:
        process = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT)
    time.sleep(0.2)
    assert process.poll() is None, log.read_text()
    return process


REPLAYS = [replay_conv, replay_pool, replay_activation, replay_pad]


@pytest.mark.parametrize("replay", REPLAYS, ids=lambda r: r.__name__.removeprefix("replay_"))
def test_every_forward_strategy_on_the_cluster_matches_numpy(cluster, replay):
    replay(lambda chunks: get_backend("dask", chunks=chunks, address=cluster))


def test_the_work_runs_on_both_workers(cluster):
    """A run's tiles are computed by the two worker processes, not by the client."""
    from distributed import Client, get_task_stream

    backend = get_backend("dask", chunks=16, address=cluster)
    numpy = get_backend("numpy")
    x = np.random.default_rng(3).uniform(-1, 1, (1, 96, 96))
    weight, bias = np.random.default_rng(4).uniform(-1, 1, (2, 1, 3, 3)), np.zeros(2)
    options = dict(stride=(1, 1), pads=(1, 1, 1, 1), dilation=(1, 1), groups=1)
    options |= dict(padding_mode="reflect", divisor=9.0)
    conv = backend.conv2d(backend.to_backend(x), weight, bias, **options)
    with Client(cluster) as client, get_task_stream(client) as stream:
        (got,) = backend.compute(conv)
    np.testing.assert_allclose(got, numpy.conv2d(x, weight, bias, **options), rtol=1e-12, atol=0)
    workers = {task["worker"] for task in stream.data}
    assert len(workers) == 2, workers
