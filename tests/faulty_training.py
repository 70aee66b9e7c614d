"""A numpy backend with a training bug: its conv weight gradient comes back transposed in
every kernel (dL/dw[a, b] where dL/dw[b, a] belongs), a classic slip of index order.

The forward pass stays right, so epoch 0 (scored before any step) agrees with every
other backend; from the first step on its kernels, and with them everything the run
learns, drift. `three_trainings` trains the same small model on each backend as a
sweep's jobs 0, 1, 2, in process; `python -m tests.faulty_training ARGS...` runs
xopipe-train with the bug (a sweep's jobs inherit it: xopipe's launcher forks them), or
with XOPIPE_TEST_CRASH=1 a numpy backend whose conv backward raises.
"""

from __future__ import annotations

import os
from pathlib import Path

import xopipe
from tests import faulty_runs
from tests.faulty_runs import run_command, three_jobs
from xopipe.backends.numpy_backward import NumpyBackward

RIGHT = NumpyBackward.conv2d_backward
# Small enough for the loop backend to train in about a second.
SHARED = ("data.n_train=48", "data.n_test=16", "train.epochs=2", "figures=none")


def transposed_weight_gradient(self, x, weight, grad, **options):
    """NumpyBackward.conv2d_backward with each kernel's gradient transposed (the bug)."""
    grad_x, grad_weight, grad_bias = RIGHT(self, x, weight, grad, **options)
    return grad_x, grad_weight.swapaxes(-1, -2).copy(), grad_bias


def three_trainings(root: Path, monkeypatch, faulty: str | None = "numpy") -> Path:
    """The same training on each backend, as a sweep's jobs 0, 1, 2; `faulty` with the bug."""
    bug = ("conv2d_backward", transposed_weight_gradient)
    return three_jobs(xopipe.train, SHARED, root, monkeypatch, bug, faulty)


def install() -> None:
    faulty_runs.install("conv2d_backward", transposed_weight_gradient)


def crashing_weight_gradient(self, x, weight, grad, **options):
    """A bug that is no user's mistake: the job raises in its first step."""
    raise RuntimeError("conv2d_backward crashed")


if __name__ == "__main__":
    # CRASH=1: the numpy backend's conv backward raises instead (an unexpected error)
    crash = os.environ.get("XOPIPE_TEST_CRASH") == "1"
    if crash:
        faulty_runs.install("conv2d_backward", crashing_weight_gradient)
    else:
        install()
    from xopipe.training.app import main

    run_command("xopipe-train", main)
