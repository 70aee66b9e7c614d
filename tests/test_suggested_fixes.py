"""Every fix an error line suggests is tried: the line names it, and doing it works."""

from __future__ import annotations

import pytest

from xopipe.errors import UserError
from xopipe.experiment import build_experiment

# (what fails, the advice its line gives, the overrides that follow the advice)
CASES = [
    (
        ["conv.padding=same", "conv.stride=2"],
        "use an integer padding",
        ["conv.padding=1", "conv.stride=2"],
    ),
    (
        ["conv.dilation=5"],
        "use smaller kernels or dilation, or raise conv.padding",
        ["conv.dilation=5", "conv.padding=1"],
    ),
    (["conv.dilation=5"], "use smaller kernels or dilation", ["conv.dilation=4"]),
    (
        ["pool.size=8", "pool.pad=0"],
        "use a smaller window or more pool.pad",
        ["pool.size=8", "pool.pad=[0,1,0,1]"],
    ),
    (["pool.size=8", "pool.pad=0"], "use a smaller window", ["pool.size=7", "pool.pad=0"]),
    (
        ["limits.max_output_cells=100"],
        "raise the limit or shrink the input",
        ["limits.max_output_cells=342"],
    ),
    (
        ["limits.max_output_cells=100"],
        "shrink the input",
        ["limits.max_output_cells=100", "input=random", "input.shape=[4,4]"],
    ),
    (
        ["input=random", "input.shape=[3,9,9]", "kernels=random", "kernels.shape=[2,2,3,3]"],
        "give kernels [K][3][kh][kw] or 2-D kernels [K][kh][kw]",
        ["input=random", "input.shape=[3,9,9]", "kernels=random", "kernels.shape=[2,3,3]"],
    ),
]


@pytest.mark.parametrize(("broken", "advice", "fixed"), CASES)
def test_the_suggested_fix_works(make_config, broken, advice, fixed):
    with pytest.raises(UserError) as caught:
        build_experiment(make_config(*broken))
    assert advice in str(caught.value)
    build_experiment(make_config(*fixed))  # no error


def test_raising_the_file_size_limit_reads_the_file(make_config, tmp_path):
    path = tmp_path / "grid.csv"
    path.write_text("\n".join(",".join(["1.5"] * 20) for _ in range(20)) + "\n")
    common = ["input=file", f"input.path={path}"]
    with pytest.raises(UserError) as caught:
        build_experiment(make_config(*common, "limits.max_file_bytes=100"))
    assert "raise the limit to read it" in str(caught.value)
    assert build_experiment(make_config(*common, "limits.max_file_bytes=10000")).source.shape == (
        1,
        20,
        20,
    )
