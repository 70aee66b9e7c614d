"""The seed's worked example, number for number, on every backend and dtype."""

from __future__ import annotations

import numpy as np
import pytest

from xopipe.backends import BACKENDS, get_backend
from xopipe.experiment import build_experiment, execute

TOLERANCE = {"float64": 1e-12, "float32": 1e-6}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_seed_numbers(make_config, seed_expected, backend, dtype):
    cfg = make_config(f"backend={backend}", f"dtype={dtype}")
    experiment = build_experiment(cfg)
    results = execute(experiment, get_backend(backend))

    assert list(results.arrays) == ["input", "conv", "pool", "activation"]
    for stage in ("input", "conv", "pool", "activation"):
        got = results.arrays[stage]
        assert got.dtype == np.dtype(dtype)
        assert got.shape == seed_expected[stage].shape, stage
        np.testing.assert_allclose(
            got, seed_expected[stage], rtol=0, atol=TOLERANCE[dtype], err_msg=stage
        )


def test_seed_inputs_are_the_seeds(make_config, seed_expected):
    experiment = build_experiment(make_config())
    np.testing.assert_array_equal(experiment.source, seed_expected["input"])
    np.testing.assert_array_equal(experiment.kernels.weight[:, 0], seed_expected["kernels"])


def test_seed_shapes_and_a_few_cells(make_config):
    """Values read off the seed's printed output, independent of the JSON file."""
    results = execute(build_experiment(make_config()), get_backend("numpy"))
    conv, pool, relu = (results.arrays[s] for s in ("conv", "pool", "activation"))
    assert conv.shape == (3, 7, 7) and pool.shape == (3, 4, 4) and relu.shape == (3, 7, 7)
    assert conv[0, 0, 0] == pytest.approx(7 / 9)  # the seed prints 0.78
    assert conv[1, 3, 3] == pytest.approx(1.0)  # the cross kernel on the X's centre
    assert pool[0, 3, 3] == pytest.approx(7 / 9)  # bottom-right window includes the zero fill
    assert relu.min() == 0.0


def test_torch_pool_padding_differs_from_the_seeds_zero_fill(make_config):
    """PyTorch pads with -inf, the seed with 0: on an all-negative edge window they differ."""
    zero_fill = execute(build_experiment(make_config("conv.bias=-2")), get_backend("numpy"))
    torch_style = execute(
        build_experiment(make_config("conv.bias=-2", "pool.pad=0", "pool.ceil_mode=true")),
        get_backend("numpy"),
    )
    # conv - 2 is negative everywhere, so the zero fill wins in the last row and column.
    assert (zero_fill.arrays["pool"][:, -1, :] == 0).all()
    assert (torch_style.arrays["pool"][:, -1, :] < 0).all()
    np.testing.assert_array_equal(
        zero_fill.arrays["pool"][:, :-1, :-1], torch_style.arrays["pool"][:, :-1, :-1]
    )
