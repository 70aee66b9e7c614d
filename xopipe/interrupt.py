"""Turn SIGTERM into an exception during a run, so the run can say it failed.

Without this, a `kill` (or a cluster's time limit) ends the process at once
and leaves a run folder with no manifest and maybe temporary files; with it,
the run writes a `failed` manifest on the way out. Ctrl-C already raises
KeyboardInterrupt, which takes the same path.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from xopipe.errors import UserError


class Interrupted(BaseException):
    """A termination signal arrived; like KeyboardInterrupt, not an Exception."""


def _raise(signum: int, frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_IGN)  # one is enough (see signals_as_exceptions)
    raise Interrupted(signal.Signals(signum).name)


@contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Within the block, SIGTERM raises Interrupted (main thread only, as Python allows).

    After that, SIGTERM stays ignored: the process has been asked to end and
    still has a failed manifest to write, which a second SIGTERM (a sweep's
    launcher passing on what the whole group already got) must not cut short.
    """
    try:
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
