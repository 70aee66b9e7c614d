"""A sweep's jobs in worker processes forked from the launching process.

Forking after composition means a worker starts with everything already
imported and every job's config already composed (the sweeper's check built
them): no start-up, no pickled configs on the way out. Each worker holds
its running job and the next one; as it finishes one it gets another, so
jobs of different sizes share the cores. Its JobReturn comes back through a
pipe, pickled, as joblib's would.

Interrupts: Ctrl-C reaches every process of the terminal's group, and each
running job marks itself failed as it would in a single process (a SIGINT
sent to the launching process alone is passed on after a second's grace).
SIGTERM to the launching process is passed on to the busy workers at once
(a job takes only the first SIGTERM it gets). Either way no new job starts,
and the launching process raises what it got once the workers are gone. An
app that handles SIGTERM itself keeps its handler (xopipe's sweep callback
raises an exception naming the sweep); where nobody does, the launching
process stops its workers first and then ends as SIGTERM's default would.
A worker that dies (killed, out of memory) fails only the job it was
running; the job it held next goes to another worker.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any

from hydra.core.utils import JobReturn, JobStatus

GRACE_SECONDS = 1.0
# Each worker learns how many share the machine: the app's torch backend
# bounds its GPU memory to a share (xopipe/backends/gpu.py reads it).
WORKERS_VARIABLE = "XOPIPE_SWEEP_WORKERS"
log = logging.getLogger(__name__)


def can_fork() -> bool:
    """Fork is safe and cheap on Linux; macOS and Windows run the jobs in this process."""
    return sys.platform == "linux" and hasattr(os, "fork")


# Jobs handed to a worker ahead of time: the next one waits in its pipe, so a
# worker never idles while this process reads the last result. Near the end
# of a sweep (fewer jobs waiting than workers) none is held ahead: a job
# queued behind a long one would wait while another worker sat idle.
AHEAD = 2


class _Dispatch:
    """Which jobs each worker holds (the first is running), and which wait for a worker."""

    def __init__(self, count: int) -> None:
        self.waiting: deque[int] = deque(range(count))
        self.held: dict[Connection, deque[int]] = {}
        self.results: list[JobReturn | None] = [None] * count

    def top_up(self, connection: Connection, ahead: int = AHEAD) -> None:
        held = self.held[connection]
        if len(self.waiting) < len(self.held):
            ahead = 1
        while self.waiting and len(held) < ahead:
            job = self.waiting.popleft()
            try:
                connection.send(job)
            except OSError:  # it died: receive() will hear of it and hand its jobs on
                self.waiting.appendleft(job)
                return
            held.append(job)

    def receive(self, connection: Connection, process: Any) -> None:
        try:
            data = connection.recv_bytes()
        except (EOFError, OSError):  # the worker is gone: the job it was running failed with it
            held = self.held.pop(connection)
            if held:
                process.join()
                job = held.popleft()
                self.results[job] = _lost(job, f"its worker process died ({_exit(process)})")
            self.waiting.extendleft(reversed(held))  # the others go to the other workers
            for other in self.held:
                self.top_up(other)
            return
        job = self.held[connection].popleft()
        self.top_up(connection)  # first, so the worker goes on while this one unpickles
        try:
            finished, ret = pickle.loads(data)
        except Exception as error:  # noqa: BLE001 - a return value that cannot be rebuilt here
            finished, ret = job, _failed(job, f"its return could not be read: {error!r}")
        assert finished == job
        self.results[job] = ret

    def busy(self) -> list[Connection]:
        return [connection for connection, held in self.held.items() if held]


class _Terminated(BaseException):
    """SIGTERM reached the launching process, and nothing else in it handles SIGTERM."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Within the block SIGTERM raises _Terminated, unless the process already handles it."""
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            yield  # the app's own handler stops the sweep
            return

        def terminated(signum: int, frame: object) -> None:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: the rest are passed on
            raise _Terminated

        signal.signal(signal.SIGTERM, terminated)
    except ValueError:  # not the main thread: leave signals to whoever owns them
        yield
        return
    try:
        yield
    except _Terminated:
        raise  # SIGTERM stays ignored until the workers are gone
    except BaseException:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_in_workers(
    run_job: Callable[[int], JobReturn], count: int, workers: int
) -> list[JobReturn]:
    """run_job(0..count-1) on `workers` forked processes; the returns in job order."""
    try:
        return _run_in_workers(run_job, count, workers)
    except _Terminated:
        # Workers stopped and gone: now end as an unhandled SIGTERM ends a process.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise


def _run_in_workers(
    run_job: Callable[[int], JobReturn], count: int, workers: int
) -> list[JobReturn]:
    context = get_context("fork")
    dispatch = _Dispatch(count)
    processes: dict[Connection, Any] = {}
    # Everything this process holds moves to the collector's permanent generation:
    # a worker's collections would otherwise walk it all and copy every page they
    # touch (the Python docs' advice for fork without exec; a fifth of a small sweep).
    gc.freeze()
    try:
        started = min(workers, count)
        for _ in range(started):
            ours, theirs = context.Pipe()
            # The worker closes every end of the pipes that belongs to this process
            # (its own and earlier workers'), so it sees end-of-file when this one
            # closes them.
            parent_ends = [*processes, ours]
            process = context.Process(
                target=_serve, args=(theirs, run_job, parent_ends, started), daemon=True
            )
            processes[ours] = process
            dispatch.held[ours] = deque()
            process.start()
            theirs.close()
        with _sigterm_raises():
            for ahead in range(1, AHEAD + 1):  # round by round: jobs 0, 1, ... start first
                for connection in processes:
                    dispatch.top_up(connection, ahead)
            while busy := dispatch.busy():
                for ready in wait(busy):
                    assert isinstance(ready, Connection)
                    dispatch.receive(ready, processes[ready])
    except BaseException as error:  # Ctrl-C or SIGTERM: no new jobs, then stop the running ones
        _stop(dispatch, processes, error)
        raise
    finally:
        for connection in dispatch.held:
            with contextlib.suppress(OSError):  # that worker is gone already
                connection.send(None)
        for connection in processes:
            connection.close()  # a worker still sending gets a broken pipe, not a hang
        for process in processes.values():
            if process.pid is not None:  # started
                process.join()
        gc.unfreeze()
    return [
        _failed(job, "never ran") if ret is None else ret
        for job, ret in enumerate(dispatch.results)
    ]


def _stop(dispatch: _Dispatch, processes: dict[Connection, Any], error: BaseException) -> None:
    dispatch.waiting.clear()
    running = [processes[connection] for connection in dispatch.busy()]
    sig = signal.SIGINT if isinstance(error, KeyboardInterrupt) else signal.SIGTERM
    if sig == signal.SIGINT:  # most likely the terminal's, which the workers got too
        for process in running:
            process.join(GRACE_SECONDS / max(1, len(running)))
    for process in running:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, sig)


def _serve(
    connection: Connection,
    run_job: Callable[[int], JobReturn],
    parent_ends: list[Connection],
    workers: int,
) -> None:
    """A worker: run the jobs it is handed until it is handed None."""
    for end in parent_ends:
        end.close()
    os.environ[WORKERS_VARIABLE] = str(workers)
    job: int | None = None
    try:
        while (job := connection.recv()) is not None:
            try:
                ret = run_job(job)
            except Exception as error:  # noqa: BLE001 - as Hydra's launcher would, it fails the job
                ret = _failed(job, f"{type(error).__name__}: {error}")
            try:
                connection.send((job, ret))
            except Exception as error:  # noqa: BLE001 - a return value pickle cannot carry
                ret.return_value = RuntimeError(f"{type(error).__name__}: {error}")
                ret.status = JobStatus.FAILED
                connection.send((job, ret))
            job = None
    except (EOFError, BrokenPipeError):
        pass  # the launching process is gone or stopping the sweep
    except BaseException as error:
        if isinstance(error, Exception | SystemExit):
            raise
        # Ctrl-C or the app's own interrupt: the launching process is stopping the
        # sweep and a running job has already marked its folder failed. Leave quietly.
    finally:
        connection.close()


def _failed(job: int, why: str) -> JobReturn:
    """A failed job, as Hydra's launchers return it: the sweeper raises its error."""
    ret = JobReturn()
    ret.status = JobStatus.FAILED
    ret.return_value = RuntimeError(f"job {job} failed: {why}")
    return ret


def _lost(job: int, why: str) -> JobReturn:
    """A job whose worker died under it (killed, out of memory).

    Reported as xopipe's own jobs report a crash: the sweep goes on, and its
    summary lists the job, whose folder holds no complete manifest, as
    failed (the sweep then exits 1). Raising it, as _failed does, would end
    the sweep without the summary of the jobs that did run.
    """
    log.error("job %d failed: %s", job, why)
    ret = JobReturn()
    ret.status = JobStatus.COMPLETED
    ret.return_value = "failed"
    return ret


def _exit(process: Any) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit status {code}"
