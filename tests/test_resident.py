"""Arrays stay in the backend's own type between stages and cross to NumPy once.

With backend=torch every stage receives a torch tensor; the input crosses in
once and each kept array comes back once. The numbers are the ones the
stage-by-stage round trip (NumPy in, NumPy out, as before) gives, bit for bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from xopipe.backends import get_backend
from xopipe.backends.torch import TorchBackend
from xopipe.experiment import build_experiment, execute
from xopipe.ops import OPS
from xopipe.pipeline import SOURCE

CONFIGS = [
    [],
    ["dtype=float32", "pipeline=classic", "pool=avg", "pool.size=3", "pool.ceil_mode=true"],
    ["input=o", "conv.stride=2", "conv.padding=1", "conv.padding_mode=reflect"],
    ["pipeline=two_layer", "activation=gelu"],
    [
        "input=random",
        "input.shape=[3,17,13]",
        "kernels=random",
        "kernels.shape=[6,1,3,2]",
        "conv.groups=depthwise",
        "conv.dilation=2",
        "pool.padding=1",
        "activation=softplus",
    ],
]


def _stage_by_stage(experiment, backend):
    """The old protocol: every stage's input crosses in and its output crosses out."""
    arrays = {SOURCE: experiment.source}
    for name in experiment.pipeline.order:
        stage = experiment.stages[name]
        x = backend.to_backend(arrays[stage.spec.input])
        arrays[name] = backend.to_host(stage.op.run(backend, x, stage.params))
    return arrays


@pytest.fixture
def crossings(monkeypatch):
    """Count the calls of TorchBackend's public crossing functions."""
    counts = {"to_backend": 0, "to_host": 0}
    for name in counts:
        original = getattr(TorchBackend, name)

        def counted(self, array, _name=name, _original=original):
            counts[_name] += 1
            return _original(self, array)

        monkeypatch.setattr(TorchBackend, name, counted)
    return counts


@pytest.mark.parametrize("overrides", CONFIGS, ids=lambda o: " ".join(o) or "seed")
def test_torch_stages_pass_tensors_and_cross_once(make_config, monkeypatch, crossings, overrides):
    received: dict[str, type] = {}
    for op_name, op in list(OPS.items()):

        def spy(backend, x, params, _op=op):
            received.setdefault(_op.name, type(x))
            assert isinstance(x, torch.Tensor), f"{_op.name} received {type(x).__name__}"
            return _op.run(backend, x, params)

        monkeypatch.setitem(OPS, op_name, dataclasses.replace(op, run=spy))
    experiment = build_experiment(make_config("backend=torch", *overrides))
    results = execute(experiment, get_backend("torch"))

    used = {stage.spec.op for stage in experiment.stages.values()}
    assert received == dict.fromkeys(used, torch.Tensor)
    assert crossings == {"to_backend": 1, "to_host": len(experiment.stages)}
    assert list(results.arrays) == [SOURCE, *experiment.pipeline.order]
    for name, array in results.arrays.items():
        assert type(array) is np.ndarray, name
        assert array.dtype == experiment.dtype, name


@pytest.mark.parametrize("overrides", CONFIGS, ids=lambda o: " ".join(o) or "seed")
@pytest.mark.parametrize("backend", ["loop", "numpy", "torch"])
def test_resident_arrays_give_the_round_trip_numbers_bit_for_bit(make_config, backend, overrides):
    experiment = build_experiment(make_config(*overrides))
    chosen = get_backend(backend)
    resident = execute(experiment, chosen).arrays
    round_trip = _stage_by_stage(experiment, chosen)
    assert list(resident) == list(round_trip)
    for name, array in round_trip.items():
        assert resident[name].shape == array.shape, name
        assert resident[name].dtype == array.dtype, name
        assert resident[name].tobytes() == array.tobytes(), name


@pytest.mark.parametrize("backend", ["loop", "numpy"])
def test_host_backends_cross_without_copying(backend):
    chosen = get_backend(backend)
    array = np.arange(12.0).reshape(1, 3, 4)
    assert chosen.to_backend(array) is array
    assert chosen.to_host(array) is array


def test_torch_crossings_keep_values_and_dtype():
    chosen = get_backend("torch")
    for dtype in (np.float32, np.float64):
        array = np.random.default_rng(1).uniform(-1, 1, (2, 5, 7)).astype(dtype)
        tensor = chosen.to_backend(array[:, ::-1])  # a reversed view crosses too
        assert isinstance(tensor, torch.Tensor) and tensor.device.type == "cpu"
        back = chosen.to_host(tensor)
        assert type(back) is np.ndarray and back.dtype == dtype
        np.testing.assert_array_equal(back, array[:, ::-1])
