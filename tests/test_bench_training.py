"""The benchmark's training case: plain torch and every backend run the same epoch from the
same weights, and the table gives each backend's time and ratio to plain torch."""

from __future__ import annotations

import numpy as np
import pytest

from xopipe.backends import BACKENDS, FORWARD_ONLY
from xopipe.bench import training
from xopipe.bench.cases import training_cases
from xopipe.bench.timing import run_worker

(CASE,) = training_cases([])


@pytest.mark.parametrize("backend", sorted(set(BACKENDS) - FORWARD_ONLY))  # the backends that train
def test_each_side_trains_the_same_epoch(backend):
    """What the clock times on each side is the same epoch: the same batches in the same
    order from the same start, so the weights and the scores after it agree."""
    reference = training.reference_work(CASE)
    ours = training.backend_work(CASE, backend)
    for _ in range(2):  # each call is the next epoch of the same run
        scores, net = reference()
        epoch = ours()
        for split in ("train", "test"):
            np.testing.assert_allclose(epoch.scores[split], scores[split], rtol=1e-9)
        for name, value in net.named_parameters():
            np.testing.assert_allclose(
                epoch.params[name], value.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name
            )
    assert epoch.scores["test"][1] > 0.8  # two epochs of the default already tell X from O


def test_the_training_case_is_one_epoch_of_the_default():
    config, data, model = training._setup([])
    images, labels = data.part("train")
    assert images.shape == (200, 1, 9, 9) and len(data.part("test")[1]) == 100
    assert (config.train.batch_size, config.dtype.value) == (16, CASE.dtype) == (16, "float64")
    assert model.weighted == ["conv"] and model.features == 3 * 4 * 4 + 3 * 7 * 7
    assert set(labels) == {0, 1}


def test_a_worker_times_the_epoch():
    times = run_worker("numpy", [CASE], repeats=2)
    assert list(times) == [CASE.name] and 0 < times[CASE.name] < 10


def test_the_table_shows_ratios_to_plain_torch_and_the_goal():
    times = {
        training.REFERENCE: {CASE.name: [0.010, 0.012]},
        "loop": {CASE.name: [0.6, 0.6]},
        "numpy": {CASE.name: [0.008, 0.012]},
        "torch": {CASE.name: [0.02, 0.024]},
    }
    header, _, row, _, goal = training.training_table(CASE, times, ("loop", "numpy", "torch"), True)
    assert header == (
        "| case | plain torch | loop backend (ratio) | numpy backend (ratio) | "
        "torch backend (ratio) | ratios steady |"
    )
    assert [c.strip() for c in row.split("|")[1:-1]] == [
        CASE.name,
        "11 ms",
        "600 ms (55, 50-60)",
        "10 ms (0.9, 0.8-1)",
        "22 ms (2, 2-2)",
        "**no**: numpy 25%",
    ]
    assert goal == "- numpy epoch / plain torch epoch <= 1.0 (goal): 0.90, met"
    quick = training.training_table(CASE, times, ("numpy",), ratios=False)
    assert quick == [
        "| case | plain torch | numpy backend |",
        "|---|---|---|",
        f"| {CASE.name} | 11 ms | 10 ms |",
    ]
