"""A sweep's jobs in worker processes forked from the launching process.

Forking after composition means a worker starts with everything already
imported and every job's config already composed (the sweeper's check built
them): no start-up, no pickled configs on the way out. Each worker asks for
the next job when it is free, so jobs of different sizes share the cores;
its JobReturn comes back through a pipe, pickled, as joblib's would.

Interrupts: Ctrl-C reaches every process of the terminal's group, and each
running job marks itself failed as it would in a single process (a SIGINT
sent to the launching process alone is passed on after a second's grace).
SIGTERM to the launching process is passed on to the busy workers at once
(a job takes only the first SIGTERM it gets). Either way no new job starts,
and the launching process raises what it got once the workers are gone. A worker that dies (killed,
out of memory) fails only the job it was running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any

from hydra.core.utils import JobReturn, JobStatus

from xopipe.interrupt import Interrupted, signals_as_exceptions

GRACE_SECONDS = 1.0


def can_fork() -> bool:
    """Fork is safe and cheap on Linux; macOS and Windows run the jobs in this process."""
    return sys.platform == "linux" and hasattr(os, "fork")


def run_in_workers(
    run_job: Callable[[int], JobReturn], count: int, workers: int
) -> list[JobReturn]:
    """run_job(0..count-1) on `workers` forked processes; the returns in job order."""
    context = get_context("fork")
    results: list[JobReturn | None] = [None] * count
    busy: dict[Connection, int | None] = {}
    processes: dict[Connection, Any] = {}
    for _ in range(min(workers, count)):
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, run_job), daemon=True)
        process.start()
        theirs.close()
        busy[ours], processes[ours] = None, process
    queue = iter(range(count))
    try:
        with signals_as_exceptions():
            for connection in list(busy):
                busy[connection] = _hand_out(connection, queue)
            while busy:
                for ready in wait(list(busy)):
                    assert isinstance(ready, Connection)
                    _receive(ready, busy, processes, results, queue)
    except BaseException as error:  # Ctrl-C or SIGTERM: no new jobs, then stop the running ones
        _stop(busy, processes, error)
        raise
    finally:
        for connection in processes:
            connection.close()  # a worker still sending gets a broken pipe, not a hang
        for process in processes.values():
            process.join()
    return [
        ret if ret is not None else _failed(job, "never ran") for job, ret in enumerate(results)
    ]


def _hand_out(connection: Connection, queue: Any) -> int | None:
    job = next(queue, None)
    connection.send(job)
    return job


def _receive(
    connection: Connection,
    busy: dict[Connection, int | None],
    processes: dict[Connection, Any],
    results: list[JobReturn | None],
    queue: Any,
) -> None:
    try:
        job, ret = connection.recv()
    except EOFError:  # the worker is gone: its job, if any, failed with it
        job = busy.pop(connection)
        if job is not None and results[job] is None:
            processes[connection].join()
            results[job] = _failed(job, f"its worker process died ({_exit(processes[connection])})")
        return
    results[job] = ret
    busy[connection] = _hand_out(connection, queue)
    if busy[connection] is None:
        busy.pop(connection)


def _stop(
    busy: dict[Connection, int | None], processes: dict[Connection, Any], error: BaseException
) -> None:
    for connection in busy:
        with contextlib.suppress(OSError):  # that worker is gone already
            connection.send(None)
    running = [processes[c] for c, job in busy.items() if job is not None]
    sig = signal.SIGINT if isinstance(error, KeyboardInterrupt) else signal.SIGTERM
    if sig == signal.SIGINT:  # most likely the terminal's, which the workers got too
        for process in running:
            process.join(GRACE_SECONDS / max(1, len(running)))
    for process in running:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, sig)


def _serve(connection: Connection, run_job: Callable[[int], JobReturn]) -> None:
    """A worker: run the jobs it is handed until it is handed None."""
    job: int | None = None
    try:
        while (job := connection.recv()) is not None:
            ret = run_job(job)
            try:
                connection.send((job, ret))
            except Exception as error:  # noqa: BLE001 - a return value pickle cannot carry
                ret.return_value = RuntimeError(f"{type(error).__name__}: {error}")
                ret.status = JobStatus.FAILED
                connection.send((job, ret))
            job = None
    except (KeyboardInterrupt, Interrupted, EOFError, BrokenPipeError):
        # The launching process is stopping the sweep; a running job has already
        # marked its folder failed. Leave quietly, without a traceback.
        pass
    finally:
        connection.close()


def _failed(job: int, why: str) -> JobReturn:
    ret = JobReturn()
    ret.status = JobStatus.FAILED
    ret.return_value = RuntimeError(f"job {job} failed: {why}")
    return ret


def _exit(process: Any) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit status {code}"
