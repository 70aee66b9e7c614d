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

from tests.device_runs import assert_two_processes_agree
from xopipe.backends import BACKENDS, get_backend
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
        arrays[name] = backend.to_host(stage.op.forward(backend, x, stage.params))
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


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=[CUDA, pytest.mark.needs("GPU")])]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("overrides", CONFIGS, ids=lambda o: " ".join(o) or "seed")
def test_torch_stages_pass_tensors_on_the_device_and_cross_once(
    make_config, monkeypatch, crossings, overrides, device
):
    chosen = get_backend("torch", device=device)
    received: dict[str, set] = {}
    for op_name, op in list(OPS.items()):

        def spy(backend, x, params, _op=op):
            assert isinstance(x, torch.Tensor), f"{_op.name} received {type(x).__name__}"
            result = _op.forward(backend, x, params)
            received.setdefault(_op.name, set()).update({x.device, result.device})
            return result

        monkeypatch.setitem(OPS, op_name, dataclasses.replace(op, forward=spy))
    experiment = build_experiment(make_config("backend=torch", *overrides))
    results = execute(experiment, chosen)

    used = {stage.spec.op for stage in experiment.stages.values()}
    # every stage read and wrote tensors on the backend's device (cuda:0 on a GPU)
    assert received == dict.fromkeys(used, {chosen.device})
    assert chosen.device.type == device
    assert crossings == {"to_backend": 1, "to_host": len(experiment.stages)}
    assert list(results.arrays) == [SOURCE, *experiment.pipeline.order]
    for name, array in results.arrays.items():
        assert array.dtype == experiment.dtype, name


@pytest.mark.parametrize("device", DEVICES)
def test_the_arrays_a_run_returns_keep_their_bytes_while_the_backend_works_on(make_config, device):
    """Host arrays hold the memory they came back in (on a GPU, pinned buffers the
    allocator would reuse if nothing held them): another run does not change them."""
    chosen = get_backend("torch", device=device)
    big = ["input=random", "input.shape=[2,400,400]", "kernels=random", "kernels.shape=[4,2,3,3]"]
    first = execute(build_experiment(make_config("backend=torch", *big)), chosen).arrays
    before = {name: array.tobytes() for name, array in first.items()}
    other = make_config("backend=torch", *big, "input.seed=99", "kernels.seed=98")
    second = execute(build_experiment(other), chosen).arrays
    for name, array in first.items():
        assert array.tobytes() == before[name], name
        assert array.tobytes() != second[name].tobytes(), name  # the other run differs


@pytest.mark.slow
def test_torch_reruns_in_two_processes_are_byte_identical_on_cpu(tmp_path):
    """tests/test_gpu.py runs this check with backend.device=cuda."""
    overrides = ["input=random", "input.shape=[3,40,37]", "kernels=random", "conv.padding=1"]
    assert_two_processes_agree(tmp_path, [*overrides, "kernels.shape=[4,3,3,2]"], "cpu")


@pytest.mark.parametrize("overrides", CONFIGS, ids=lambda o: " ".join(o) or "seed")
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_resident_arrays_give_the_round_trip_numbers_bit_for_bit(make_config, backend, overrides):
    experiment = build_experiment(make_config(*overrides))
    chosen = get_backend(backend)
    results = execute(experiment, chosen)
    resident = results.arrays
    if results.compute is not None:  # a lazy backend's arrays: computed together here
        resident = dict(zip(resident, results.compute(*resident.values()), strict=True))
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
        assert back.dtype == dtype
        np.testing.assert_array_equal(back, array[:, ::-1])
