"""The benchmark's backward cases: both sides differentiate the same numbers, and the table
says each backend's time and ratio to torch autograd."""

from __future__ import annotations

import numpy as np
import pytest

from xopipe.backends import BACKENDS, FORWARD_ONLY
from xopipe.bench import backward
from xopipe.bench.cases import backward_cases
from xopipe.bench.timing import run_worker


def test_backward_cases_cover_pipeline_conv_and_pool_in_both_dtypes():
    names = [case.name for case in backward_cases([64, 256])]
    assert names == [
        "seed pipeline 64^2 float32",
        "seed pipeline 64^2 float64",
        "seed pipeline 256^2 float32",
        "seed pipeline 256^2 float64",
        "conv 64^2 K3 k3 float32",
        "conv 64^2 K3 k3 float64",
        "conv 256^2 K3 k3 float32",
        "conv 256^2 K3 k3 float64",
        "max pool 2x2/2 3x62^2 float32",
        "max pool 2x2/2 3x62^2 float64",
        "max pool 2x2/2 3x254^2 float32",
        "max pool 2x2/2 3x254^2 float64",
    ]


@pytest.mark.parametrize("backend", sorted(set(BACKENDS) - FORWARD_ONLY))
@pytest.mark.parametrize("op", ["backward_pipeline", "backward_conv", "backward_max_pool"])
def test_each_side_computes_the_same_gradients(backend, op):
    """What the clock times on each side is the same derivative: torch autograd's gradients
    of the input (and the weights and bias) equal the backend's."""
    (case,) = [c for c in backward_cases([12]) if c.op == op and c.dtype == "float64"]
    theirs = [t.numpy() for t in backward.reference_work(case)()]
    found = backward.backend_work(case, backend)()
    if op == "backward_pipeline":
        conv = found.weights["conv"]
        ours = [found.arrays["input"], conv.weight, conv.bias]
    elif op == "backward_conv":
        ours = list(found)
    else:
        ours = [found]
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-12)
        assert np.abs(reference).max() > 0.1  # real gradients, not zeros


def test_a_worker_times_a_backward_case_and_skips_the_loop_above_64():
    small, large = backward_cases([9, 128])[0], backward_cases([9, 128])[2]
    assert (small.size, large.size) == (9, 128)
    times = run_worker("loop", [small, large], repeats=1)
    assert list(times) == [small.name] and times[small.name] > 0
    assert list(run_worker(backward.REFERENCE, [large], repeats=1)) == [large.name]


def test_the_backward_table_shows_ratios_to_torch_autograd_and_the_goals():
    cases = [c for c in backward_cases([64, 256]) if c.op == "backward_pipeline"]
    pipe64, _, pipe256, pipe256_64 = cases
    times = {
        backward.REFERENCE: {c.name: [2e-3, 2e-3] for c in cases},
        "numpy": {c.name: [1e-3, 1.5e-3] for c in cases},
        "torch": {c.name: [2e-3, 2e-3] for c in cases},
        "loop": {c.name: [0.08, 0.08] if c.size == 64 else [] for c in cases},
    }
    times["numpy"][pipe256_64.name] = [3e-3, 3e-3]
    header, _, first, *rest = backward.backward_table(cases, times, ("loop", "numpy", "torch"))
    assert header == (
        "| case | torch autograd | loop backend (ratio) | numpy backend (ratio) | "
        "torch backend (ratio) | ratios steady |"
    )
    assert [c.strip() for c in first.split("|")[1:-1]] == [
        "seed pipeline 64^2 float32",
        "2 ms",
        "80 ms (40, 40-40)",
        "1.25 ms (0.62, 0.5-0.75)",
        "2 ms (1, 1-1)",
        "**no**: numpy 50%",
    ]
    assert "| seed pipeline 256^2 float32 | 2 ms | - |" in rest[1]
    assert backward.goal_lines(cases, times) == [
        "- numpy backward / torch autograd <= 1.0 from 256^2 up, the seed pipeline (goal): "
        "1 of 2 cases (by the median ratio; above: seed pipeline 256^2 float64)",
        "- loop backend, seed pipeline 64^2 float32: 80 ms (goal: usable up to 64^2)",
        "- loop backend, seed pipeline 64^2 float64: 80 ms (goal: usable up to 64^2)",
    ]
    pool = [c for c in backward_cases([256]) if c.op == "backward_max_pool"]
    for side, seconds in ((backward.REFERENCE, 1e-3), ("numpy", 2e-3)):
        times[side].update({c.name: [seconds] for c in pool})
    assert backward.goal_lines(pool, times) == [
        "- numpy backward / torch autograd <= 1.0 from 256^2 up, ops alone (where the time "
        "goes): 0 of 2 cases (by the median ratio; above: max pool 2x2/2 3x254^2 float32, "
        "max pool 2x2/2 3x254^2 float64)"
    ]
    quick = backward.backward_table([pipe64], times, ("numpy",), ratios=False)
    assert quick[0] == "| case | torch autograd | numpy backend |"
    assert quick[2] == "| seed pipeline 64^2 float32 | 2 ms | 1.25 ms |"
