"""What the faulty numpy backends (faulty_backward.py, faulty_training.py) share: one job
per backend made in process with the bug patched into the faulty one, the bug installed
for good in this process, and xopipe's command line run with it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xopipe.backends.numpy_backward import NumpyBackward

BACKENDS = ("loop", "numpy", "torch")


def three_jobs(
    run: Callable[..., Any],
    shared: tuple[str, ...],
    root: Path,
    monkeypatch,
    bug: tuple[str, Callable[..., Any]],
    faulty: str | None,
) -> Path:
    """`run(*shared)` on each backend, as a sweep's jobs 0, 1, 2; `faulty` with `bug` (the
    NumpyBackward method's name and its faulty stand-in)."""
    for job, backend in enumerate(BACKENDS):
        with monkeypatch.context() as patch:
            if backend == faulty:
                patch.setattr(NumpyBackward, *bug)
            run(*shared, f"backend={backend}", out_dir=root / str(job)).close()
    return root


def install(method: str, bug: Callable[..., Any]) -> None:
    """NumpyBackward's `method` replaced by `bug` in this process (and any it forks)."""
    setattr(NumpyBackward, method, bug)


def run_command(program: str, main: Callable[[], object]) -> None:
    """The command line's `main`, as if started as `program`."""
    sys.argv[0] = program
    main()
