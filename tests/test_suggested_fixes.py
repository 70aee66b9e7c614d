"""Every fix an error line suggests is tried: the line names it, and the fixed run
computes what the fixed config asks for (torch.nn.functional as the oracle)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xopipe.backends import get_backend
from xopipe.errors import UserError
from xopipe.experiment import build_experiment, execute


@dataclass
class Fixed:
    """What the fixed run must compute: the conv's and pool's settings, as typed."""

    overrides: list[str]
    shapes: tuple[tuple[int, int, int], tuple[int, int, int]]  # conv's, pool's
    conv: dict = field(default_factory=dict)  # stride, padding, dilation for F.conv2d
    pool_size: int = 2
    pool_pad: tuple[int, int, int, int] = (0, 0, 0, 0)  # zeros on the conv's output first


# (what fails, the advice its line gives, the fixed run)
CASES = [
    (
        ["conv.padding=same", "conv.stride=2"],
        "use an integer padding",
        Fixed(
            ["conv.padding=1", "conv.stride=2"],
            ((3, 5, 5), (3, 3, 3)),
            {"padding": 1, "stride": 2},
            pool_pad=(0, 1, 0, 1),  # pool.pad=auto: 5 -> 6
        ),
    ),
    (
        ["conv.dilation=5"],
        "use smaller kernels or dilation, or raise conv.padding",
        Fixed(
            ["conv.dilation=5", "conv.padding=1"],
            ((3, 1, 1), (3, 1, 1)),
            {"dilation": 5, "padding": 1},
            pool_pad=(0, 1, 0, 1),
        ),
    ),
    (
        ["conv.dilation=5"],
        "use smaller kernels or dilation",
        Fixed(["conv.dilation=4"], ((3, 1, 1), (3, 1, 1)), {"dilation": 4}, pool_pad=(0, 1, 0, 1)),
    ),
    (
        ["pool.size=8", "pool.pad=0"],
        "use a smaller window or more pool.pad",
        Fixed(
            ["pool.size=8", "pool.pad=[0,1,0,1]"],
            ((3, 7, 7), (3, 1, 1)),
            pool_size=8,
            pool_pad=(0, 1, 0, 1),
        ),
    ),
    (
        ["pool.size=8", "pool.pad=0"],
        "use a smaller window",
        Fixed(["pool.size=7", "pool.pad=0"], ((3, 7, 7), (3, 1, 1)), pool_size=7),
    ),
    (
        ["limits.max_output_cells=100"],
        "raise the limit or shrink the input",
        Fixed(["limits.max_output_cells=342"], ((3, 7, 7), (3, 4, 4)), pool_pad=(0, 1, 0, 1)),
    ),
    (
        ["limits.max_output_cells=100"],
        "shrink the input",
        Fixed(
            ["limits.max_output_cells=100", "input=random", "input.shape=[4,4]"],
            ((3, 2, 2), (3, 1, 1)),
        ),
    ),
    (
        ["input=random", "input.shape=[3,9,9]", "kernels=random", "kernels.shape=[2,2,3,3]"],
        "give kernels [K][3][kh][kw] or 2-D kernels [K][kh][kw]",
        Fixed(
            ["input=random", "input.shape=[3,9,9]", "kernels=random", "kernels.shape=[2,3,3]"],
            ((2, 7, 7), (2, 4, 4)),
            pool_pad=(0, 1, 0, 1),
        ),
    ),
]


def _kernels(overrides: list[str]) -> np.ndarray:
    """The kernels the fixed config names, built here: the seed's, or random ones as
    documented (default_rng(0), uniform in [-1, 1)), each 2-D one on every channel."""
    if "kernels=random" in overrides:
        kernels = np.random.default_rng(0).uniform(-1, 1, (2, 3, 3))
        return np.repeat(kernels[:, None], 3, axis=1)
    diagonal = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    cross = np.array([[1, -1, 1], [-1, 1, -1], [1, -1, 1]])
    return np.stack([diagonal, cross, diagonal[:, ::-1]])[:, None].astype(float)


@pytest.mark.parametrize(("broken", "advice", "fixed"), CASES)
def test_the_suggested_fix_works(make_config, broken, advice, fixed):
    with pytest.raises(UserError) as caught:
        build_experiment(make_config(*broken))
    assert advice in str(caught.value)

    experiment = build_experiment(make_config(*fixed.overrides))
    arrays = execute(experiment, get_backend("numpy")).arrays
    assert (arrays["conv"].shape, arrays["pool"].shape) == fixed.shapes
    x = torch.from_numpy(arrays["input"])[None]
    weight = torch.from_numpy(_kernels(fixed.overrides))
    conv = F.conv2d(x, weight, **fixed.conv)[0] / weight[0].numel()  # normalize=mean
    np.testing.assert_allclose(arrays["conv"], conv.numpy(), rtol=1e-12, atol=1e-12)
    padded = F.pad(conv[None], fixed.pool_pad)
    pool = F.max_pool2d(padded, fixed.pool_size)[0]
    np.testing.assert_allclose(arrays["pool"], pool.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(arrays["activation"], F.relu(conv).numpy(), rtol=0, atol=1e-12)


def test_raising_the_file_size_limit_reads_the_file(make_config, tmp_path):
    path = tmp_path / "grid.csv"
    path.write_text("\n".join(",".join(["1.5"] * 20) for _ in range(20)) + "\n")
    common = ["input=file", f"input.path={path}"]
    with pytest.raises(UserError) as caught:
        build_experiment(make_config(*common, "limits.max_file_bytes=100"))
    assert "raise the limit to read it" in str(caught.value)
    source = build_experiment(make_config(*common, "limits.max_file_bytes=10000")).source
    np.testing.assert_array_equal(source, np.full((1, 20, 20), 1.5))
