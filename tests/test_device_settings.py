"""What the torch backend sets on a GPU, checked where no GPU is needed.

tests/test_gpu.py runs these settings on a device; here: the values they
set, the memory share a sweep's worker takes, the refusals, and the calls
a GPU run makes into torch.cuda (a stand-in that checks their arguments).
"""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace

import pytest
import torch
import torch.utils.deterministic
from hydra.core.utils import JobReturn, JobStatus
from torch.cuda._utils import _get_device_index

from hydra_plugins.xopipe_launcher._workers import WORKERS_VARIABLE as LAUNCHER_VARIABLE
from hydra_plugins.xopipe_launcher._workers import run_in_workers
from xopipe.backends import get_backend, gpu
from xopipe.errors import UserError


@pytest.fixture
def restored(monkeypatch):
    """Put PyTorch's process-wide settings back as they were after the test."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    cudnn, matmul = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    benchmark = torch.backends.cudnn.benchmark
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield
    torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    torch.utils.deterministic.fill_uninitialized_memory = fill
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = cudnn, matmul
    torch.backends.cudnn.benchmark = benchmark


def test_faithful_turns_tf32_off_and_determinism_on(restored):
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    gpu.faithful()
    assert torch.backends.cudnn.allow_tf32 is False
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.backends.cudnn.benchmark is False
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.utils.deterministic.fill_uninitialized_memory is False
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_faithful_keeps_a_cublas_workspace_the_user_chose(restored, monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    gpu.faithful()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_a_cpu_backend_changes_no_process_wide_setting(restored):
    before = torch.are_deterministic_algorithms_enabled()
    get_backend("torch", device="cpu")
    assert torch.are_deterministic_algorithms_enabled() == before
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


def test_memory_share_is_configured_or_split_among_a_sweeps_workers(monkeypatch):
    monkeypatch.delenv(gpu.WORKERS_VARIABLE, raising=False)
    assert gpu.memory_fraction(None) is None  # a single run: the whole device
    assert gpu.memory_fraction(0.5) == 0.5
    assert gpu.memory_fraction(1) == 1.0
    monkeypatch.setenv(gpu.WORKERS_VARIABLE, "4")
    assert gpu.memory_fraction(None) == pytest.approx(0.225)
    assert gpu.memory_fraction(0.5) == 0.5  # the configured value wins
    monkeypatch.setenv(gpu.WORKERS_VARIABLE, "1")
    assert gpu.memory_fraction(None) is None


@pytest.mark.parametrize("value", [0, -0.5, 1.5])
def test_a_memory_fraction_outside_0_1_is_refused_in_one_line(value):
    with pytest.raises(UserError, match=r"backend\.memory_fraction must be a number in \(0, 1\]"):
        get_backend("torch", memory_fraction=value)


def _environment(job: int) -> JobReturn:
    ret = JobReturn()
    ret.status = JobStatus.COMPLETED
    ret.return_value = os.environ.get(gpu.WORKERS_VARIABLE)
    return ret


def test_the_launcher_tells_each_worker_how_many_share_the_machine(monkeypatch):
    monkeypatch.delenv(gpu.WORKERS_VARIABLE, raising=False)
    assert LAUNCHER_VARIABLE == gpu.WORKERS_VARIABLE
    runs = run_in_workers(_environment, 5, workers=3)
    assert [ret.return_value for ret in runs] == ["3"] * 5
    assert run_in_workers(_environment, 2, workers=3)[0].return_value == "2"  # two started
    assert gpu.WORKERS_VARIABLE not in os.environ  # the launching process is left alone


class CudaStandIn:
    """torch.cuda as a machine with `count` GPUs shows it, recording each call.

    Each function takes its arguments as torch 2.13's does and checks them the
    same way (torch's own `_get_device_index`), so a device without an index is
    refused here as on a real GPU.
    """

    def __init__(self, count: int = 2, current: int = 1) -> None:
        self.count, self.current = count, current
        self.calls: list[tuple] = []

    def is_available(self) -> bool:
        return True

    def device_count(self) -> int:
        return self.count

    def current_device(self) -> int:
        self.calls.append(("current_device",))
        return self.current

    def set_per_process_memory_fraction(self, fraction, device=None) -> None:
        if device is None:
            device = self.current
        index = _get_device_index(device)  # optional=False: ValueError for a bare "cuda"
        assert isinstance(fraction, float) and 0 <= fraction <= 1
        self.calls.append(("set_per_process_memory_fraction", fraction, index))

    def get_device_properties(self, device=None):
        index = _get_device_index(device, optional=True)
        assert 0 <= index < self.count, "Invalid device id"
        self.calls.append(("get_device_properties", index))
        return SimpleNamespace(total_memory=80 * 2**30)

    def synchronize(self, device=None) -> None:
        # `with torch.cuda.device(device)` resolves it with optional=True
        self.calls.append(("synchronize", _get_device_index(device, optional=True)))

    def install(self, monkeypatch) -> CudaStandIn:
        for name in (
            "is_available",
            "device_count",
            "current_device",
            "set_per_process_memory_fraction",
            "get_device_properties",
            "synchronize",
        ):
            monkeypatch.setattr(torch.cuda, name, getattr(self, name))
        return self


@pytest.mark.parametrize(
    ("typed", "index"), [("cuda", 1), ("cuda:0", 0), ("cuda:1", 1)], ids=["bare", "0", "1"]
)
def test_the_cuda_device_gets_its_index_before_any_call_that_takes_one(
    restored, monkeypatch, caplog, typed, index
):
    monkeypatch.delenv(gpu.WORKERS_VARIABLE, raising=False)
    cuda = CudaStandIn(count=2, current=1).install(monkeypatch)
    with caplog.at_level(logging.INFO, logger=gpu.__name__):
        backend = get_backend("torch", device=typed, memory_fraction=0.25)
    assert backend.device == torch.device("cuda", index)
    calls = [c for c in cuda.calls if c[0] != "current_device"]
    assert calls == [
        ("set_per_process_memory_fraction", 0.25, index),
        ("get_device_properties", index),
    ]
    assert f"cuda:{index}: this process may allocate 20480 MiB (0.250 of it)" in caplog.text
    backend.wait()
    assert cuda.calls[-1] == ("synchronize", index)


def test_each_worker_of_a_gpu_sweep_bounds_its_share_of_the_current_device(restored, monkeypatch):
    """Two or more workers: each takes 0.9 / workers of the device, with no fraction set."""
    monkeypatch.setenv(gpu.WORKERS_VARIABLE, "4")
    cuda = CudaStandIn(count=1, current=0).install(monkeypatch)
    get_backend("torch", device="cuda")
    assert ("set_per_process_memory_fraction", pytest.approx(0.225), 0) in cuda.calls


@pytest.mark.parametrize("typed", ["cuda:2", "cuda:7"])
def test_a_cuda_index_the_machine_lacks_is_refused_in_one_line(restored, monkeypatch, typed):
    CudaStandIn(count=2, current=0).install(monkeypatch)
    with pytest.raises(UserError) as caught:
        get_backend("torch", device=typed)
    assert str(caught.value) == (
        "backend.device must be cuda or cuda:0..1 here (torch sees 2 CUDA device(s)), "
        f"got '{typed}'"
    )


def test_a_gpu_backend_turns_off_the_tf32_a_user_turned_on(restored, monkeypatch):
    """test_gpu.py's check on a device, here through the same constructor on the stand-in."""
    CudaStandIn(count=1, current=0).install(monkeypatch)
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.use_deterministic_algorithms(False)
    get_backend("torch", device="cuda")
    assert torch.backends.cudnn.allow_tf32 is False
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.are_deterministic_algorithms_enabled()
