"""A numpy backend with a backward bug: its max-pool backward gives a tie to the LAST maximum
of the window (torch, and every xopipe backend, give it to the first).

Forward values stay right, so only the gradient tables can tell: the tests of the
diff check that they do, as a forward bug shows in matrices. `three_backends` makes the
seed's runs on every backend as a sweep's jobs, in process; `install()` patches this
process; `python -m tests.faulty_backward ARGS...` runs xopipe with the bug (a sweep's
jobs run in this same process under Hydra's basic launcher).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import xopipe
from tests import faulty_runs
from tests.faulty_runs import run_command, three_jobs
from xopipe.backends.numpy_views import framed, pool_frame, unframed


def last_maximum_pool_backward(
    self, x, grad, *, size, stride, padding, dilation, ceil_mode, output=None
) -> np.ndarray:
    """NumpyBackward.max_pool2d_backward with `>=` where it has `>`: ties go to the last."""
    full, taps = pool_frame(x.shape, size, stride, padding, dilation, ceil_mode)
    padded = framed(x, padding, full, -np.inf)
    best = padded[taps[0]].copy()
    winner = np.zeros(best.shape, dtype=np.int64)
    for t, tap in enumerate(taps[1:], start=1):
        view = padded[tap]
        better = view >= best  # the bug
        np.copyto(best, view, where=better)
        winner[better] = t
    grad_frame = np.zeros((x.shape[0], *full), dtype=grad.dtype)
    for t, tap in enumerate(taps):
        grad_frame[tap] += np.where(winner == t, grad, grad.dtype.type(0))
    return unframed(grad_frame, padding, x.shape)


SHARED = ("loss=sum", "figures=none")
BUG = ("max_pool2d_backward", last_maximum_pool_backward)


def three_backends(root: Path, monkeypatch, faulty: str | None = "numpy") -> Path:
    """The seed with loss=sum on each backend, as a sweep's jobs 0, 1, 2; `faulty` with the bug."""
    return three_jobs(xopipe.run, SHARED, root, monkeypatch, BUG, faulty)


def install() -> None:
    faulty_runs.install(*BUG)


if __name__ == "__main__":
    install()
    from xopipe.cli import entry

    run_command("xopipe", entry)
