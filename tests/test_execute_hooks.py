"""What execute offers the work that follows a forward pass: progress by stage, arrays kept.

A backend that reports within a stage (the loop backend, row by row) is heard through
execute's progress hook, labelled with the stage's name, whatever the backend is called;
keep=True keeps every array in the backend's own type for a pass that goes back over them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xopipe.backends import BACKENDS, get_backend
from xopipe.experiment import build_experiment, execute


def test_a_reporting_backend_is_heard_stage_by_stage(make_config):
    experiment = build_experiment(make_config("pipeline=two_layer"))
    heard: list[tuple[str, float]] = []
    execute(experiment, get_backend("loop"), progress=lambda stage, f: heard.append((stage, f)))
    stages = list(dict.fromkeys(stage for stage, _ in heard))
    # The loop backend reports its windowed loops (conv and pool) row by row, under the
    # stages' own names (conv2, pool2), not the primitives' (conv, max pool).
    assert stages == ["conv", "pool", "conv2", "pool2"]
    for stage in stages:
        fractions = [f for s, f in heard if s == stage]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0, stage
        assert 0 < fractions[0] <= 1.0


@pytest.mark.parametrize("backend", [name for name in BACKENDS if name != "loop"])
def test_a_backend_that_does_not_report_is_not_asked_to(make_config, backend):
    heard: list = []
    chosen = get_backend(backend)
    execute(build_experiment(make_config()), chosen, progress=lambda *a: heard.append(a))
    assert heard == [] and not hasattr(chosen, "progress")


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_kept_arrays_stay_the_backends_own_and_hold_the_results(make_config, backend):
    experiment = build_experiment(make_config("input=random", "input.shape=[11,13]"))
    chosen = get_backend(backend)
    results = execute(experiment, chosen, keep=True)
    assert list(results.kept) == ["input", *experiment.pipeline.order]
    kind = {"torch": torch.Tensor, "dask": _dask_array()}.get(backend, np.ndarray)
    for name, array in results.kept.items():
        assert isinstance(array, kind), name
        np.testing.assert_array_equal(chosen.to_host(array), results.arrays[name])


def _dask_array() -> type:
    import dask.array as da

    return da.Array


def test_nothing_is_kept_unless_asked(make_config):
    assert execute(build_experiment(make_config()), get_backend("torch")).kept == {}
