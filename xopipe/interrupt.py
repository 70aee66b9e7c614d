"""Turn SIGTERM into an exception during a run, so the run can say it failed.

Without this, a `kill` (or a cluster's time limit) ends the process at once
and leaves a run folder with no manifest and maybe temporary files; with it,
the run writes a `failed` manifest on the way out. Ctrl-C already raises
KeyboardInterrupt, which takes the same path.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from xopipe.errors import UserError


class Interrupted(BaseException):
    """A termination signal arrived; like KeyboardInterrupt, not an Exception.

    `sweep` is the folder of the sweep it stopped, when it stopped one.
    """

    sweep: str | None = None


class SweepKeyboardInterrupt(KeyboardInterrupt):
    """Ctrl-C during a sweep: a KeyboardInterrupt that names the sweep's folder."""

    sweep: str | None = None


def _raise(signum: int, frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_IGN)  # one is enough (see signals_as_exceptions)
    raise Interrupted(signal.Signals(signum).name)


_raise.raises_interrupted = True  # type: ignore[attr-defined]


def _raises_interrupted(handler: Any) -> bool:
    return bool(getattr(handler, "raises_interrupted", False))


def stop_sweep_on_signals(
    sweep: str, on_signal: Callable[[], None] = lambda: None
) -> Callable[[], None]:
    """Until the returned function is called, SIGTERM and SIGINT raise exceptions naming `sweep`.

    So whoever catches them (xopipe.app.main) can say which sweep to resume,
    and every job running in this process or forked from it still takes its
    interrupt as usual (an Interrupted, a KeyboardInterrupt). `on_signal` is
    called first, in this process only. Main thread only.
    """
    here = os.getpid()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        signal.signal(signum, signal.SIG_IGN)
        if os.getpid() == here:
            on_signal()
        error = Interrupted(signal.Signals(signum).name)
        error.sweep = sweep
        raise error

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if os.getpid() == here:
            on_signal()
        error = SweepKeyboardInterrupt()
        error.sweep = sweep
        raise error

    on_sigterm.raises_interrupted = True  # type: ignore[attr-defined]
    try:
        previous = (
            signal.signal(signal.SIGTERM, on_sigterm),
            signal.signal(signal.SIGINT, on_sigint),
        )
    except ValueError:  # not the main thread
        return lambda: None

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])

    return restore


@contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Within the block, SIGTERM raises Interrupted (main thread only, as Python allows).

    After that, SIGTERM stays ignored: the process has been asked to end and
    still has a failed manifest to write, which a second SIGTERM (a sweep's
    launcher passing on what the whole group already got) must not cut short.
    """
    try:
        if _raises_interrupted(signal.getsignal(signal.SIGTERM)):
            yield  # a sweep's handler already does, and names the sweep too
            return
        previous = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread: leave signals to whoever owns them
        yield
        return
    try:
        yield
    except Interrupted:
        raise  # _raise has set SIGTERM to be ignored; left so
    except BaseException:
        signal.signal(signal.SIGTERM, previous)
        raise
    signal.signal(signal.SIGTERM, previous)


@contextmanager
def shielded() -> Iterator[None]:
    """Within the block SIGINT and SIGTERM are ignored (main thread only).

    For writing a failed manifest after an interrupt: a second signal (a
    sweep's launcher passing on what the whole group already got, a second
    Ctrl-C) must not cut the writing short.
    """
    try:
        previous = (
            signal.signal(signal.SIGINT, signal.SIG_IGN),
            signal.signal(signal.SIGTERM, signal.SIG_IGN),
        )
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def describe(error: BaseException) -> str:
    """How an interrupt reads in a manifest and on the console."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (SIGINT)"
    if isinstance(error, Interrupted):
        return f"interrupted ({error})"
    if isinstance(error, UserError):  # the user's own line, as the console showed it
        return str(error)
    return f"{type(error).__name__}: {error}"
