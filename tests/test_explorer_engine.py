"""The page's JavaScript engine, a fourth backend, against the NumPy backend.

The cases are the property tests' own generators (tests/property_cases.py),
drawn once with a fixed seed and run in one page load: each op on its own for
over 200 configurations, then whole pipelines through window.xopipe.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.browser import open_page
from tests.conftest import compose_config
from tests.property_cases import (
    ACTIVATION_CASES,
    _run_ours,
    conv_cases,
    pool_cases,
    pool_example,
)
from xopipe.backends import get_backend
from xopipe.config.vocabulary import vocabulary
from xopipe.errors import UserError
from xopipe.experiment import build_experiment, execute
from xopipe.runner import run_experiment

pytestmark = pytest.mark.slow
TOLERANCE = 1e-12

# In the page: run one op of a case through the engine; the result or the refusal.
RUN_CASES = """cases => cases.map(c => {
  const kernel = c.kernel &&
    {shape: c.kernel.shape, names: [], data: Float64Array.from(c.kernel.data)};
  const model = {config: {[c.op]: c.node}, vocabulary: c.vocabulary,
                 input: {shape: c.shape, data: Float64Array.from(c.x)},
                 stages: [{name: "s", op: c.op, input: "input", kernel}]};
  try {
    const out = XoEngine.compute(model, {}).arrays.s;
    return {shape: out.shape, data: Array.from(out.data)};
  } catch (error) {
    if (!(error instanceof XoEngine.UserError)) throw error;
    return {error: error.message};
  }
})"""


def examples(strategy, count: int) -> list:
    """`count` examples of a strategy, the same on every run."""
    found: list = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case):
        found.append(case)

    collect()
    return found


def conv_case(case: dict) -> tuple[dict, dict, np.ndarray]:
    rng = np.random.default_rng(case["seed"])
    x = rng.uniform(-1, 1, (case["channels"], *case["input"]))
    if case["negative"]:
        x = -np.abs(x) - 0.1
    weight = rng.uniform(
        -1, 1, (case["kernels"], case["channels"] // case["groups"], *case["size"])
    )
    bias = rng.uniform(-1, 1, case["kernels"]).tolist()
    keys = ("stride", "padding", "dilation", "padding_mode", "groups", "normalize")
    node = {"bias": bias, "flip": case["flip"], **{k: case[k] for k in keys}}
    from xopipe.kernels import KernelSet

    ours = {**node, "kernels": KernelSet(weight, tuple(f"k{i}" for i in range(len(weight))))}
    used = weight[..., ::-1, ::-1] if case["flip"] else weight  # the page gets prepared weights
    page = {
        "op": "conv",
        "node": node,
        "kernel": {"shape": list(used.shape), "data": used.ravel().tolist()},
    }
    return ours, page, x


def pool_case(case: dict) -> tuple[dict, dict, np.ndarray]:
    x, node = pool_example(case)  # the property tests' own input and settings
    x = x.astype(np.float64)  # the page computes in float64
    return node, {"op": "pool", "node": node}, x


def activation_case(case: tuple) -> tuple[dict, dict, np.ndarray]:
    (name, params), scale, seed = case
    x = np.random.default_rng(seed).uniform(-1, 1, (2, 4, 5)) * scale
    node = {"name": name, **params}
    return node, {"op": "activation", "node": node}, x


def all_cases() -> list[tuple[str, dict, dict, np.ndarray]]:
    cases = [("conv", *conv_case(c)) for c in examples(conv_cases(), 110)]
    cases += [("pool", *pool_case(c)) for c in examples(pool_cases(), 80)]
    activations = st.tuples(ACTIVATION_CASES, st.floats(0.1, 50), st.integers(0, 2**16))
    cases += [("activation", *activation_case(c)) for c in examples(activations, 40)]
    return cases


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("engine")
    run_experiment(compose_config(["figures=none", "print_matrices=false"]), out)
    return out / "report.html"


def test_engine_matches_numpy_on_the_property_cases(browser, seed_page):
    cases = all_cases()
    assert len(cases) >= 200
    words = vocabulary()  # what the page itself carries (explorer_data)
    payload = [
        {**page, "shape": list(x.shape), "x": x.ravel().tolist(), "vocabulary": words}
        for _, _, page, x in cases
    ]
    with open_page(browser, seed_page) as page:
        results = page.page.evaluate(RUN_CASES, payload)
        assert page.errors == [] and page.requests == []
    ran = refused = 0
    for (op, node, _, x), result in zip(cases, results, strict=True):
        ours = _run_ours(op, node, x, "numpy")
        if isinstance(ours, UserError):
            assert "error" in result, (op, node, ours)
            refused += 1
            continue
        assert "error" not in result, (op, node, result)
        got = np.array(result["data"]).reshape(result["shape"])
        assert got.shape == ours[0].shape
        np.testing.assert_allclose(got, ours[0], rtol=TOLERANCE, atol=TOLERANCE, err_msg=str(node))
        ran += 1
    assert ran >= 150 and refused >= 5  # both kinds are really exercised


PIPELINES = [
    ([], {}),
    (["conv.stride=2"], {"conv.stride": 2}),
    (
        ["conv.padding=1", "conv.padding_mode=reflect"],
        {"conv.padding": 1, "conv.padding_mode": "reflect"},
    ),
    (["conv.padding=same", "conv.dilation=2"], {"conv.padding": "same", "conv.dilation": 2}),
    (
        ["pool=avg", "pool.size=3", "pool.stride=1"],
        {"pool": "avg", "pool.size": 3, "pool.stride": 1},
    ),
    (
        ["pool.size=3", "pool.stride=2", "activation=sigmoid"],
        {"pool.size": 3, "pool.stride": 2, "activation": "sigmoid"},
    ),
    (
        ["activation=leaky_relu", "activation.negative_slope=0.2"],
        {"activation": "leaky_relu", "activation.negative_slope": 0.2},
    ),
    (["activation=gelu", "conv.stride=[1,2]"], {"activation": "gelu", "conv.stride": [1, 2]}),
    (["pool.padding=1", "pool.pad=0"], {"pool.padding": 1, "pool.pad": 0}),
]


def test_window_xopipe_run_recomputes_the_pipeline_as_numpy_does(browser, seed_page):
    with open_page(browser, seed_page) as page:
        for overrides, keys in PIPELINES:
            got = page.page.evaluate("o => window.xopipe.run(o)", keys)
            experiment = build_experiment(compose_config(overrides))
            arrays = execute(experiment, get_backend("numpy")).arrays
            assert set(got) == set(arrays)
            for name, array in arrays.items():
                assert got[name]["shape"] == list(array.shape), (overrides, name)
                values = np.array(got[name]["data"]).reshape(array.shape)
                np.testing.assert_allclose(values, array, rtol=TOLERANCE, atol=TOLERANCE)
            # The page shows what it computed: the conv grids have the new shape.
            shown = page.cells('[data-stage="conv"]:not(.pad)')
            assert len(shown) == arrays["conv"].size, overrides
        assert page.errors == [] and page.requests == []


def test_a_bad_setting_in_the_page_is_one_line_like_the_command_line(browser, seed_page):
    with open_page(browser, seed_page) as page:
        for overrides, keys in [
            (["conv.stride=0"], {"conv.stride": 0}),
            (["pool.size=9", "pool.pad=0"], {"pool.size": 9, "pool.pad": 0}),
        ]:
            message = page.page.evaluate(
                "o => { try { window.xopipe.run(o); return null } catch (e) { return e.message } }",
                keys,
            )
            with pytest.raises(UserError) as error:
                build_experiment(compose_config(overrides))
            assert message == str(error.value)
        # Through the controls: the message shows, the page stays usable.
        page.page.fill('[data-key="conv.stride"]', "0")
        page.page.dispatch_event("#controls", "change")
        assert (
            page.page.inner_text("#status")
            == "conv.stride must be a positive integer or a pair [h, w] of them, got 0"
        )
        page.page.fill('[data-key="conv.stride"]', "2")
        page.page.dispatch_event("#controls", "change")
        assert len(page.cells('[data-stage="conv"]:not(.pad)')) == 3 * 4 * 4
        assert page.errors == [] and page.requests == []
