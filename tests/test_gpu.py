"""The torch backend on a CUDA device: the NumPy backend's numbers, the same bits each rerun.

Every op and option (the property tests' strategies, replayed on the device),
TF32 off (turned on first), reruns in two processes byte-identical, and a
16-job sweep on the GPU with several workers. Stages passing tensors that
stay on the device: tests/test_resident.py. Skipped where torch sees no CUDA
device; run it on a machine with an NVIDIA GPU and a CUDA build of torch:
`pytest tests/test_gpu.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import compose_config
from tests.device_runs import AGREE, assert_two_processes_agree
from tests.property_cases import (
    ACTIVATION_CASES,
    SETTINGS,
    TOL,
    Tally,
    _run_ours,
    activation_example,
    conv_cases,
    conv_example,
    pool_cases,
    pool_example,
)
from xopipe.backends import get_backend
from xopipe.errors import UserError
from xopipe.experiment import build_experiment, execute

pytestmark = [
    pytest.mark.needs("GPU"),
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="no CUDA device visible (torch.cuda.is_available() is False); "
        "these tests need an NVIDIA GPU and a CUDA build of torch",
    ),
]


@pytest.fixture(scope="module")
def cuda():
    return get_backend("torch", device="cuda")


def _same_as_numpy(op: str, node: dict, x: np.ndarray, cuda):
    """The GPU gives the NumPy backend's answer within tolerance, or both refuse alike.

    The answer must have been computed on the device: the tensor that crosses
    back to NumPy is noted, and must be on it.
    """
    crossed: list[torch.device] = []

    def to_host(tensor: torch.Tensor) -> np.ndarray:
        crossed.append(tensor.device)
        return type(cuda).to_host(cuda, tensor)

    cuda.to_host = to_host
    try:
        ours = _run_ours(op, node, x, cuda)
    finally:
        del cuda.to_host
    reference = _run_ours(op, node, x, "numpy")
    if isinstance(reference, UserError) or isinstance(ours, UserError):
        assert str(ours) == str(reference)
        return ours
    (got, shape), (expected, expected_shape) = ours, reference
    assert crossed == [cuda.device] and cuda.device.type == "cuda"
    assert got.dtype == x.dtype
    assert got.shape == shape == expected_shape == expected.shape
    tol = TOL[str(x.dtype)]
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    return ours


def test_conv_on_the_gpu_matches_numpy(cuda):
    tally = Tally()

    @SETTINGS
    @given(case=conv_cases())
    def check(case):
        x, _, _, node = conv_example(case)
        tally.note(case, _same_as_numpy("conv", node, x, cuda))

    check()
    tally.check()


def test_pool_on_the_gpu_matches_numpy(cuda):
    tally = Tally()

    @SETTINGS
    @given(case=pool_cases())
    def check(case):
        x, node = pool_example(case)
        tally.note(case, _same_as_numpy("pool", node, x, cuda))

    check()
    tally.check()


@SETTINGS
@given(
    case=ACTIVATION_CASES,
    scale=st.floats(0.1, 50),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(["float64", "float32"]),
)
def test_activation_on_the_gpu_matches_numpy(cuda, case, scale, seed, dtype):
    x, node = activation_example(case, scale, seed, dtype)
    _same_as_numpy("activation", node, x, cuda)


def test_the_backend_turns_tf32_off_and_determinism_on():
    # PyTorch's defaults are already off for matmul: turn everything on first.
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.use_deterministic_algorithms(False)
    get_backend("torch", device="cuda")
    assert torch.backends.cudnn.allow_tf32 is False
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.is_deterministic_algorithms_warn_only_enabled()


def test_float32_conv_has_float32_error_not_tf32s():
    """100 products per cell: float32 errs by ~1e-7 here, TF32 (10-bit mantissa) by ~1e-3."""
    torch.backends.cudnn.allow_tf32 = True  # as a user's own code may have left it
    torch.backends.cuda.matmul.allow_tf32 = True
    cuda = get_backend("torch", device="cuda")
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (4, 512, 512))
    weight, bias = rng.uniform(-1, 1, (16, 4, 5, 5)), np.zeros(16)
    args = dict(stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, padding_mode="zeros")
    exact = get_backend("numpy").conv2d(x, weight, bias, divisor=None, **args)
    x32, w32, b32 = (a.astype(np.float32) for a in (x, weight, bias))
    got = cuda.to_host(cuda.conv2d(cuda.to_backend(x32), w32, b32, divisor=None, **args))
    assert np.abs(got - exact).max() < 1e-4


RERUNS = [
    ["input=random", "input.shape=[1024,1024]", "dtype=float32"],
    [
        "input=random",
        "input.shape=[3,257,255]",
        "kernels=random",
        "kernels.shape=[8,3,5,5]",
        "conv.padding=2",
        "conv.padding_mode=reflect",
        "conv.dilation=2",
        "pool=avg",
        "pool.size=3",
        "pool.ceil_mode=true",
        "activation=gelu",
        "dtype=float32",
    ],
    [
        "input=random",
        "input.shape=[301,300]",
        "conv.stride=2",
        "conv.padding=1",
        "conv.padding_mode=circular",
        "pool.padding=1",
        "pool.pad=0",
    ],
    ["input=random", "input.shape=[300,300]", "pipeline=two_layer", "activation=tanh"],
]


@pytest.mark.parametrize(
    "overrides", RERUNS, ids=["seed-1024", "reflect-dilated-avg", "strided-circular", "two-layer"]
)
def test_gpu_reruns_in_two_processes_are_byte_identical_and_agree_with_numpy(tmp_path, overrides):
    """Each process builds its own input; tests/test_resident.py runs the same check on CPU."""
    assert_two_processes_agree(tmp_path, overrides, "cuda")


def test_a_memory_fraction_bounds_the_allocator():
    try:
        get_backend("torch", device="cuda", memory_fraction=0.25)
        assert torch.cuda.get_per_process_memory_fraction(0) == pytest.approx(0.25)
        total = torch.cuda.get_device_properties(0).total_memory
        with pytest.raises(torch.OutOfMemoryError):
            torch.empty(int(total * 0.3), dtype=torch.uint8, device="cuda")
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
        torch.cuda.empty_cache()


# Runs a sweep as `xopipe -m ...` does, then reports whether this launching
# process ever started CUDA (its workers must fork without a CUDA context).
LAUNCHING_PROCESS = """
import json, sys
report, sys.argv = sys.argv[1], ["xopipe", *sys.argv[2:]]
from xopipe.app import main
try:
    main()
    code = 0
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else 1
torch = sys.modules.get("torch")
with open(report, "w") as out:
    json.dump({"code": code, "cuda initialized": bool(torch and torch.cuda.is_initialized())}, out)
"""

SWEEP = [
    "backend=torch",
    "backend.device=cuda",
    "input=random",
    "input.shape=[256,256]",
    "conv.stride=1,2",
    "pool.size=1,2,3,4",
    "dtype=float32,float64",
]
WORKERS = 4


def test_a_16_job_sweep_on_the_gpu_with_several_workers(tmp_path):
    folder, report = tmp_path / "sweep", tmp_path / "report.json"
    command = [
        sys.executable,
        "-c",
        LAUNCHING_PROCESS,
        str(report),
        "-m",
        *SWEEP,
        "hydra/launcher=xopipe",
        f"hydra.launcher.n_jobs={WORKERS}",
        "tables.formats=[parquet,npy]",  # the summary reads Parquet
        "figures=none",
        "print_matrices=false",
        f"hydra.sweep.dir={folder}",
    ]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    launching = json.loads(report.read_text())
    assert launching == {"code": 0, "cuda initialized": False}, result.stderr[-3000:]

    jobs = sorted((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    assert len(jobs) == 16
    share = f"({0.9 / WORKERS:.3f} of it)"
    for job in jobs:
        assert json.loads((job / "manifest.json").read_text())["status"] == "complete", job
        assert share in (job / "xopipe.log").read_text(), job  # each worker's memory bounded
        overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
        numpy_run = [o for o in overrides if not o.startswith("backend")] + ["backend=numpy"]
        experiment = build_experiment(compose_config(numpy_run))
        reference = execute(experiment, get_backend("numpy")).arrays
        tol = AGREE[experiment.dtype]
        for name in experiment.pipeline.order:
            got = np.load(job / "matrices" / f"{name}.npy")
            np.testing.assert_allclose(got, reference[name], rtol=tol, atol=tol, err_msg=name)
