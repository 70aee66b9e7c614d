"""Which stages a top-level node tunes (README "Pipelines"), on the command line and in the page.

`conv.stride=2` sets every conv stage except where a stage's own `params` set stride;
two_layer's conv2 keeps stride 1 of its own, so it strides the first conv only. Where a
stage refuses a value its op's node gave it, the one line names the key the user typed
and the override that sets one stage only, and that override works as written.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.browser import open_page
from tests.cli import run_cli
from tests.conftest import compose_config
from xopipe.backends import get_backend
from xopipe.experiment import build_experiment, execute
from xopipe.runner import run_experiment

QUIET = ["figures=none", "print_matrices=false"]
UNPINNED = ["pipeline=two_layer", "~pipeline.stages.conv2.params.stride"]  # two_layer as it was
STRIDE_LINE = (
    "error: pipeline.stages.conv2.params.padding='same' needs stride 1 (as in PyTorch), "
    "got conv.stride=2; use an integer padding with strides; conv.stride sets every conv stage "
    "without its own stride (conv, conv2), and conv2 refused it: to set it on conv only, give "
    "++pipeline.stages.conv.params.stride=2"
)
# A second conv with two kernels of its own: a bias list for conv's three does not fit it.
CONV2 = (
    "+pipeline.stages.conv2={op: conv, input: pool, params: "
    "{kernels: {kind: random, name: k2, shape: [2, 3, 3, 3], seed: 0}}}"
)
BIAS_LINE = (
    "error: conv.bias must be a number or a list of 2 numbers (one per kernel), got [1, 2, 3]; "
    "conv.bias sets every conv stage without its own bias (conv, conv2), and conv2 refused it: "
    "to set it on conv only, give ++pipeline.stages.conv.params.bias=[1,2,3]"
)


def cli_arrays(tmp_path, name, *overrides) -> dict[str, np.ndarray]:
    """`xopipe *overrides` through the real command line; its matrices.parquet as arrays."""
    out = tmp_path / name
    result = run_cli(*overrides, *QUIET, f"hydra.run.dir={out}")
    assert result.code == 0, result.stderr
    table = pq.read_table(out / "matrices.parquet").to_pydict()
    arrays = {}
    for stage in dict.fromkeys(table["stage"]):
        rows = [i for i, s in enumerate(table["stage"]) if s == stage]
        index = tuple(np.array([table[k][i] for i in rows]) for k in ("channel", "row", "col"))
        array = np.zeros(tuple(int(axis.max()) + 1 for axis in index))
        array[index] = [table["value"][i] for i in rows]
        arrays[stage] = array
    return arrays


def refusal(tmp_path, name, *overrides) -> str:
    result = run_cli(*overrides, *QUIET, f"hydra.run.dir={tmp_path / name}")
    assert result.code == 2 and result.stdout == "", result
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    return result.stderr.strip()


def suggested(line: str) -> str:
    return line.rsplit(" give ", 1)[1]


def assert_same_bits(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].shape == b[name].shape and np.array_equal(a[name], b[name]), name


def test_conv_stride_strides_the_first_conv_of_two_layer_only(tmp_path):
    arrays = cli_arrays(tmp_path, "pinned", "pipeline=two_layer", "conv.stride=2")
    assert arrays["conv"].shape == (3, 4, 4) and arrays["conv2"].shape == (3, 2, 2)
    # The same as the one-stage override on two_layer without conv2's own stride.
    one_stage = cli_arrays(tmp_path, "one", *UNPINNED, "++pipeline.stages.conv.params.stride=2")
    assert_same_bits(arrays, one_stage)
    # conv is the seed's conv with stride 2, bit for bit.
    seed = cli_arrays(tmp_path, "seed", "conv.stride=2")
    assert np.array_equal(arrays["conv"], seed["conv"])


def test_pinning_conv2s_stride_changes_no_result_of_two_layer():
    for extra in ([], ["input=random", "input.shape=[16,16]", "conv.dilation=2", "pool=avg"]):
        pinned = execute(
            build_experiment(compose_config(["pipeline=two_layer", *extra])), get_backend("numpy")
        ).arrays
        before = execute(
            build_experiment(compose_config([*UNPINNED, *extra])), get_backend("numpy")
        ).arrays
        assert_same_bits(pinned, before)


def test_other_keys_reach_every_stage_of_their_op_but_not_its_own_params():
    stages = build_experiment(
        compose_config(
            [
                "pipeline=two_layer",
                "conv.stride=2",
                "conv.dilation=2",
                "conv.padding=2",
                "pool.size=3",
                "activation=tanh",
            ]
        )
    ).stages
    assert stages["conv"].params.stride == (2, 2) and stages["conv2"].params.stride == (1, 1)
    assert stages["conv"].params.dilation == stages["conv2"].params.dilation == (2, 2)
    assert stages["conv"].params.pads == (2, 2, 2, 2)
    assert stages["conv2"].params.pads == (2, 2, 2, 2)  # its own `same`, for dilation 2
    assert stages["pool"].params.size == stages["pool2"].params.size == (3, 3)
    assert stages["activation"].params.name == stages["activation2"].params.name == "tanh"


@pytest.mark.parametrize(
    ("name", "overrides", "line", "shapes"),
    [
        ("stride", [*UNPINNED, "conv.stride=2"], STRIDE_LINE, {"conv": (3, 4, 4)}),
        ("bias", [CONV2, "conv.bias=[1,2,3]"], BIAS_LINE, {"conv2": (2, 2, 2)}),
    ],
)
def test_a_refused_value_names_what_was_typed_and_the_one_stage_override(
    tmp_path, name, overrides, line, shapes
):
    assert refusal(tmp_path, name, *overrides) == line
    # The override the line offers, as written, in place of the top-level key.
    fixed = [*overrides[:-1], suggested(line)]
    arrays = cli_arrays(tmp_path, name + "-fixed", *fixed)
    for stage, shape in shapes.items():
        assert arrays[stage].shape == shape
    if name == "bias":  # conv's cells carry the bias, conv2's none
        plain = cli_arrays(tmp_path, "plain", *overrides[:-1])
        bias = np.array([1.0, 2.0, 3.0])[:, None, None]
        np.testing.assert_array_equal(arrays["conv"], plain["conv"] + bias)
        assert not np.array_equal(arrays["conv2"], plain["conv2"])  # it reads the new conv


def test_a_value_on_a_single_stage_gets_no_reach_hint(tmp_path):
    line = refusal(tmp_path, "single", "conv.padding=same", "conv.stride=2")
    assert line == (
        "error: conv.padding='same' needs stride 1 (as in PyTorch), got conv.stride=2; "
        "use an integer padding with strides"
    )


PAGE_RUN = "o => { try { window.xopipe.run(o); return null } catch (e) { return e.message } }"


@pytest.mark.slow
def test_the_pages_controls_reach_the_stages_the_command_line_reaches(browser, tmp_path):
    def page_of(name, overrides):
        out = tmp_path / name
        run_experiment(compose_config([*overrides, *QUIET]), out, overrides, show_matrices=False)
        return out / "report.html"

    def numpy(overrides):
        return execute(build_experiment(compose_config(overrides)), get_backend("numpy")).arrays

    with open_page(browser, page_of("two_layer", ["pipeline=two_layer"])) as page:
        field = page.page.locator('#controls [data-key="conv.stride"]')
        field.fill("2")
        field.press("Tab")
        assert page.page.get_attribute("#status", "class") == "ok"
        got = page.page.evaluate("() => window.xopipe.shown()")
        want = numpy(["pipeline=two_layer", "conv.stride=2"])
        for stage, array in want.items():
            assert got[stage]["shape"] == list(array.shape), stage
            np.testing.assert_allclose(
                np.reshape(got[stage]["data"], array.shape), array, rtol=1e-12, atol=1e-12
            )
        page.page.locator('#controls [data-key="pool.size"]').fill("3")
        page.page.locator('#controls [data-key="pool.size"]').press("Tab")
        got = page.page.evaluate("() => window.xopipe.shown()")
        want = numpy(["pipeline=two_layer", "conv.stride=2", "pool.size=3"])
        assert {s: tuple(t["shape"]) for s, t in got.items()} == {
            s: a.shape for s, a in want.items()
        }  # pool.size reached pool and pool2, as on the command line
        assert page.errors == [] and page.requests == []

    for name, overrides, line in [
        ("unpinned", UNPINNED, STRIDE_LINE),
        ("conv2", [CONV2], BIAS_LINE),
    ]:
        with open_page(browser, page_of(name, overrides)) as page:
            key, value = ("conv.stride", 2) if name == "unpinned" else ("conv.bias", [1, 2, 3])
            message = page.page.evaluate(PAGE_RUN, {key: value})
            assert message == line.removeprefix("error: ")
            if name == "unpinned":  # typed into the field: the same line under the controls
                field = page.page.locator('#controls [data-key="conv.stride"]')
                field.fill("2")
                field.press("Tab")
                assert page.page.inner_text("#status") == line.removeprefix("error: ")
            assert page.errors == [] and page.requests == []
