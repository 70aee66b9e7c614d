"""`explain=grad:...`: the chain rule for every cell of the seed, its routing checked by torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xopipe
from xopipe.explain.gradient import explain_gradient
from xopipe.ops.explanation import CellRef


@pytest.fixture(scope="module", params=["sum", "mse"])
def seed_runs(request):
    runs = {b: xopipe.run(f"loss={request.param}", f"backend={b}") for b in ("loop", "numpy")}
    yield runs
    for run in runs.values():
        run.close()


def _every_cell(run):
    for name, grad in run.grads.items():
        for index in np.ndindex(grad.shape):
            yield explain_gradient(CellRef(name, *index), run.experiment, run.arrays, run.grads)


def test_every_seed_cell_ends_on_its_stored_gradient(seed_runs):
    """423 cells (input, conv, pool, activation): bit for bit on loop, within 1e-15 on numpy."""
    loop = list(_every_cell(seed_runs["loop"]))
    assert len(loop) == 81 + 147 + 48 + 147
    for explained in loop:
        assert explained.value == explained.stored, explained.steps
        assert explained.steps[-1].endswith("(identical, bit for bit)")
    for explained in _every_cell(seed_runs["numpy"]):
        assert abs(float(explained.value) - float(explained.stored)) < 1e-15, explained.steps


def test_the_pool_routing_is_torchs_including_ties(seed_runs):
    """For every conv cell and every window that holds it, the text says it wins exactly
    when torch's max_pool2d (return_indices) picks it: ties go to the first in row order."""
    run = seed_runs["loop"]
    conv = torch.tensor(run.arrays["conv"])
    _, picked = F.max_pool2d(F.pad(conv[None], (0, 1, 0, 1)), 2, return_indices=True)
    winners = {
        (k, int(i) // 8, int(i) % 8) for k, row in enumerate(picked[0]) for i in row.flatten()
    }
    ties = 0
    for k, i, j in np.ndindex(conv.shape):
        explained = explain_gradient(
            CellRef("conv", k, i, j), run.experiment, run.arrays, run.grads
        )
        (line,) = [s for s in explained.steps if s.startswith(f"    pool[{k}, {i // 2}, {j // 2}]")]
        assert ("it wins with" in line) == ((k, i, j) in winners), line
        ties += "(a tie: it comes first in row order)" in line
    assert ties >= 5  # the seed's X ties in several windows: the rule decides real numbers


def test_a_tie_a_relu_and_the_sum_read_as_written():
    with xopipe.run("loss=sum", "backend=loop") as run:
        steps = explain_gradient(
            CellRef("conv", 0, 1, 3), run.experiment, run.arrays, run.grads
        ).steps
    third = 0.3333333333333333
    assert steps == [
        f"explain dL/dconv[0, 1, 3]: conv [3×7×7] holds {third} there; L = sum of pool, activation",
        "  activation [3×7×7] reads it in 1 cell:",
        f"    activation[0, 1, 3]: relu'({third}) = 1.0;"
        "  dL/dactivation[0, 1, 3] = 1.0, × 1.0 = 1.0",
        "  pool [3×4×4] reads it in 1 cell:",
        f"    pool[0, 0, 1]: [0, 3] wins with {third} (a tie: it comes first in row order): 0;"
        "  dL/dpool[0, 0, 1] = 1.0, × 0.0 = 0.0",
        "  dL/dconv[0, 1, 3] = 1.0 + 0.0 = 1.0",
        "stored dL/dconv[0, 1, 3] = 1.0  (identical, bit for bit)",
    ]


def test_conv_routes_name_the_stored_weight_and_the_division():
    with xopipe.run("loss=sum", "backend=loop", "loss.stages=[conv]") as run:
        steps = explain_gradient(
            CellRef("input", 0, 0, 0), run.experiment, run.arrays, run.grads
        ).steps
    # the corner of the input meets only the first window of each kernel, at its weight [0, 0]
    assert steps[1] == "  conv [3×7×7] reads it in 3 cells:"
    assert steps[2] == (
        "    conv[0, 0, 0]: weight[0, 0, 0, 0] = 1.0 (conv divides its sum by 9);  "
        "dL/dconv[0, 0, 0] = 1.0, / 9 × 1.0 = 0.1111111111111111"
    )
    assert run.grads["input"][0, 0, 0] == pytest.approx(
        sum(run.experiment.kernels.weight[:, 0, 0, 0]) / 9
    )


def test_reflect_padding_routes_an_edge_cell_more_than_once():
    overrides = ["loss=sum", "backend=loop", "input=random", "input.shape=[5,5]"]
    overrides += ["conv.padding=1", "conv.padding_mode=reflect", "loss.stages=[conv]"]
    with xopipe.run(*overrides) as run:
        explained = explain_gradient(
            CellRef("input", 0, 1, 0), run.experiment, run.arrays, run.grads
        )
        # the padded column -1 mirrors column 1: the cell is met by 2 taps in some windows
        # loop adds the mirrored copies after the rest: the same sum, in another order
        assert explained.value == pytest.approx(explained.stored, abs=1e-15)
        # padded rows 2 (the cell: taps 0, 1, 2 -> output rows 2, 1, 0) and 0 (its mirror:
        # tap 0 -> row 0); padded col 1 (taps 0, 1 -> cols 1, 0); 3 kernels
        assert len(explained.terms) == (3 + 1) * 2 * 3
        outs = [term.route.out for term in explained.terms]
        assert outs.count((0, 0, 0)) == 2  # one window meets the cell and its mirror


def test_the_command_line_prints_it_and_refuses_it_without_a_loss(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "xopipe", "loss=sum", "explain=grad:conv:0:1:3", "figures=none"]
        + ["print_matrices=false", f"hydra.run.dir={tmp_path / 'a'}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "stored dL/dconv[0, 1, 3] = 1.0  (identical, bit for bit)" in done.stdout
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "xopipe",
            "explain=grad:conv:0:1:3",
            f"hydra.run.dir={tmp_path / 'b'}",
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == (
        "error: explain=grad:conv:0:1:3 needs a loss to differentiate: add loss=sum or loss=mse"
    )


def test_a_gradient_of_one_term_is_written_once():
    with xopipe.run("loss=sum", "backend=loop") as run:
        steps = explain_gradient(
            CellRef("pool", 1, 3, 3), run.experiment, run.arrays, run.grads
        ).steps
    # pool is a terminal stage no other stage reads: its gradient is L's 1 alone
    assert steps[1:] == [
        "  L reads it directly: sum, so dL/dpool[1, 3, 3] gets 1",
        "  dL/dpool[1, 3, 3] = 1.0",
        "stored dL/dpool[1, 3, 3] = 1.0  (identical, bit for bit)",
    ]
