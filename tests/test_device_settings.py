"""What the torch backend sets on a GPU, checked where no GPU is needed.

tests/test_gpu.py runs these settings on a device; here: the values they
set, the memory share a sweep's worker takes, and the refusals.
"""

from __future__ import annotations

import os

import pytest
import torch
import torch.utils.deterministic
from hydra.core.utils import JobReturn, JobStatus

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
