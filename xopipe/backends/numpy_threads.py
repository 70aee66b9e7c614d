"""The numpy backend's worker threads: parts of one primitive, run side by side.

NumPy's copies and matmuls release the GIL, so Python threads that each copy
and multiply their own share of a primitive keep every core busy. Each call
to BLAS stays small enough for BLAS to run it on the calling thread (see
numpy_conv.py), so these threads, not BLAS's own, are the parallelism; a
thread count set for the libraries (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS)
bounds it, as it bounds torch's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from xopipe.cores import job_share

__all__ = ["WORKERS", "Workers", "in_flat_runs", "one_thread", "thread_buffers", "thread_count"]

Part = TypeVar("Part")

_buffers = threading.local()
_limit = threading.local()


def thread_count() -> int:
    """The threads one primitive may use: this job's share of the cores (all of them
    outside a sweep that runs jobs side by side; xopipe/cores.py), or 1 on a thread
    inside one_thread()."""
    return 1 if getattr(_limit, "one", False) else job_share()


@contextmanager
def one_thread() -> Iterator[None]:
    """Primitives called on this thread inside the block run on it alone: its caller's
    pool is the parallelism already (a dask worker's tile: threads of its own on top
    would put workers x cores threads on the cores)."""
    before = getattr(_limit, "one", False)
    _limit.one = True
    try:
        yield
    finally:
        _limit.one = before


def thread_buffers(sizes: tuple[int, ...], dtype: np.dtype) -> list[np.ndarray]:
    """Flat buffers of `sizes` for the calling thread, one allocation kept from call to
    call and shared by the primitives it runs one after another: fresh memory each call
    costs more in page faults than a 256x256 backward's arithmetic."""
    held = getattr(_buffers, "flat", None)
    if held is None or held.dtype != dtype or held.size < sum(sizes):
        held = _buffers.flat = np.empty(sum(sizes), dtype)
    ends = np.cumsum((0, *sizes))
    return [held[start:end] for start, end in zip(ends[:-1], ends[1:], strict=True)]


def in_flat_runs(size: int, threads: int, each: Callable[[slice], Any]) -> None:
    """each(part) for the runs of a flat array of `size` cells, two runs a thread on
    `threads` threads (elementwise work: relu and its gradient)."""
    run = -(-size // (2 * threads))

    def work(handout: Iterator[int]) -> None:
        for start in handout:
            each(slice(start, start + run))

    WORKERS.run(work, range(0, size, run), threads)


class Workers:
    """A pool of count - 1 threads; the calling thread takes the first share itself.

    A pool made before a fork has no threads in the child: each process makes its own.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._owner = -1
        self._size = 0
        self._lock = threading.Lock()

    def _executor(self, size: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._owner != os.getpid() or self._size < size:
                if self._pool is not None and self._owner == os.getpid():
                    self._pool.shutdown(wait=False)  # outgrown: its threads end when idle
                self._pool = ThreadPoolExecutor(size, thread_name_prefix="xopipe-numpy")
                self._owner, self._size = os.getpid(), size
            return self._pool

    def run(self, work: Callable[[Iterator[Part]], Any], parts: Sequence[Part], count: int) -> None:
        """work(handout) on `count` threads side by side, each taking its next part from
        one shared handout: a thread the machine holds back takes fewer parts, rather
        than leaving the others waiting for its fixed share."""
        count = min(count, len(parts))
        handout = _Handout(parts)
        if count <= 1:
            work(handout)
            return
        pool = self._executor(count - 1)
        pending = [pool.submit(handout.serve, work) for _ in range(count - 1)]
        try:
            handout.serve(work)
        finally:
            for future in pending:
                future.result()  # re-raises a worker's error here


class _Handout(Iterator[Part]):
    """The parts, one at a time to whichever thread asks; none more once one failed."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self._parts = iter(parts)
        self._lock = threading.Lock()
        self._failed = False

    def __next__(self) -> Part:
        with self._lock:
            if self._failed:
                raise StopIteration
            return next(self._parts)

    def serve(self, work: Callable[[Iterator[Part]], Any]) -> None:
        try:
            work(self)
        except BaseException:
            self._failed = True
            raise


WORKERS = Workers()
