"""The page's backward pass and gradient view, in a real browser (tests/browser.py).

A few pages with a loss, each loaded once: window.xopipe.compute's gradients
against the NumPy backend's backward pass on the seed (its max-pool ties decide
real numbers) and on option mixes that reach every op and option; every cell's
data-grad against gradients.parquet; and in gradient view, a click on every cell
of the seed (and on cells of the other pages) against the console's
`explain=grad:` text and against a NaN oracle for the cells that read it.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.browser import open_page
from tests.conftest import compose_config
from tests.test_explorer import dependencies
from xopipe.backends import get_backend
from xopipe.backward import backpropagate
from xopipe.experiment import build_experiment, execute
from xopipe.explain.gradient import explain_gradient
from xopipe.ops.explanation import CellRef
from xopipe.runner import run_experiment

pytestmark = pytest.mark.slow
TOLERANCE = 1e-12
QUIET = ["figures=none", "print_matrices=false"]
RANDOM = ["input=random", "input.seed=5", "kernels=random", "kernels.seed=2"]
# The runs each page comes from: every one with a loss.
PAGES = {
    "seed": ["loss=sum"],
    # Two groups of two kernels, flipped kernels, a bias each, mse.
    "groups": [
        *RANDOM,
        "input.shape=[2,9,11]",
        "kernels.shape=[4,1,3,2]",
        "conv.groups=2",
        "conv.flip=true",
        "conv.bias=[0.1,-0.2,0.3,0]",
        "loss=mse",
    ],
    "classic": [
        *RANDOM,
        "input.shape=[2,10,10]",
        "kernels.shape=[3,2,2,3]",
        "pipeline=classic",
        "pool=avg",
        "pool.size=3",
        "pool.stride=2",
        "pool.padding=1",
        "pool.ceil_mode=true",
        "pool.count_include_pad=false",
        "loss=sum",
    ],
    "two_layer": ["pipeline=two_layer", "loss=sum"],
    # A pad stage between conv and pool: pool reads it, activation reads conv.
    "pad": [
        *RANDOM,
        "input.shape=[8,7]",
        "+pipeline.stages.padded={op: pad, input: conv}",
        "pipeline.stages.pool.input=padded",
        "pad.pads=[2,1,0,3]",
        "loss=mse",
    ],
    "float32": ["dtype=float32", "input=o", "loss=mse", "activation=gelu"],
}
ACTIVATIONS = [
    {"activation": "relu"},
    {"activation": "leaky_relu", "activation.negative_slope": 0.2},
    {"activation": "elu", "activation.alpha": 0.7},
    {"activation": "gelu"},
    {"activation": "gelu", "activation.approximate": "tanh"},
    {"activation": "sigmoid"},
    {"activation": "tanh"},
    {"activation": "softplus", "activation.beta": 2.0, "activation.threshold": 1.0},
    {"activation": "identity"},
]
# (page, overrides in the page's syntax): each recomputed in the page with its gradients.
MIXES = [
    ("seed", {}),  # ties in five pool windows (checked below)
    ("seed", {"loss": "mse"}),
    ("seed", {"conv.bias": -1}),  # conv cells <= 0: pool.pad's zeros win edge windows
    ("seed", {"conv.padding": 1, "conv.normalize": "none"}),  # conv cells of 0: relu'(0)
    (
        "seed",
        {"conv.padding": 1, "conv.padding_mode": "circular", "pool.pad": 0}
        | {"pool.padding": 1, "pool.ceil_mode": True},  # -inf padding
    ),
    (
        "seed",
        {"conv.padding": "same", "conv.padding_mode": "replicate", "conv.dilation": 2}
        | {"pool.size": 3, "pool.stride": 2, "pool.dilation": 2},
    ),
    (
        "seed",
        {"conv.stride": [1, 2], "loss": "mse", "loss.stages": ["activation", "conv"]}
        | {"pool": "avg", "pool.size": 3, "pool.stride": 1},
    ),
    *[("groups", mix) for mix in ACTIVATIONS],
    ("groups", {"conv.padding": [1, 2], "conv.padding_mode": "reflect", "conv.stride": 2}),
    ("groups", {"conv.dilation": [2, 1], "conv.normalize": "none", "pool.pad": [1, 0, 2, 1]}),
    ("classic", {}),
    ("classic", {"pool.count_include_pad": True, "activation": "tanh", "loss": "mse"}),
    ("two_layer", {}),
    ("two_layer", {"loss": "mse", "conv.padding_mode": "reflect", "activation": "elu"}),
    ("pad", {}),
    ("pad", {"pad.mode": "reflect", "pad.pads": [2, 1, 0, 2], "conv.stride": [1, 2]}),
    ("pad", {"pad.mode": "replicate", "pad.pads": [3, 0, 2, 1]}),
    ("pad", {"pad.mode": "circular", "pad.value": 0.5, "loss": "sum"}),
    ("pad", {"pad.mode": "constant", "pad.value": -2.0, "pool": "avg", "pool.size": 3}),
]


def word(value) -> str:
    """A value as the command line writes it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(word(v) for v in value) + "]"
    return str(value)


def numpy_gradients(overrides: list[str]) -> tuple[dict, dict]:
    """The NumPy backend's values and dL/d each of them."""
    experiment = build_experiment(compose_config(overrides))
    backend = get_backend("numpy")
    results = execute(experiment, backend, keep=True)
    return results.arrays, backpropagate(experiment, backend, results).arrays


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """name -> (run folder, its experiment, arrays, gradients), each run once."""
    found = {}
    for name, overrides in PAGES.items():
        out = tmp_path_factory.mktemp(name)
        cfg = compose_config([*overrides, *QUIET])
        results = run_experiment(cfg, out, overrides, show_matrices=False)
        found[name] = (out, build_experiment(cfg), results.arrays, results.gradients.arrays)
    return found


def test_the_pages_backward_pass_is_numpys_on_the_seed_and_every_option(browser, pages):
    by_page: dict[str, list[dict]] = {}
    for page_name, keys in MIXES:
        by_page.setdefault(page_name, []).append(keys)
    compared = 0
    for page_name, mixes in by_page.items():
        out = pages[page_name][0]
        with open_page(browser, out / "report.html") as page:
            results = page.page.evaluate("ms => ms.map(m => window.xopipe.compute(m))", mixes)
            assert page.errors == [] and page.requests == []
        for keys, got in zip(mixes, results, strict=True):
            overrides = [*PAGES[page_name], *(f"{k}={word(v)}" for k, v in keys.items())]
            arrays, grads = numpy_gradients(overrides)
            assert list(got["grad"]) == list(grads), overrides  # input first, then run order
            for name, grad in grads.items():
                assert got["grad"][name]["shape"] == list(grad.shape), (overrides, name)
                values = np.array(got["grad"][name]["data"]).reshape(grad.shape)
                np.testing.assert_allclose(
                    values, grad, rtol=TOLERANCE, atol=TOLERANCE, err_msg=f"{overrides} {name}"
                )
                compared += grad.size
            assert np.abs(grads["input"]).max() > 0, overrides  # the gradient reached the input
    assert compared > 10_000

    # The seed's cases decide what they claim to: ties, a winning zero fill, relu'(0).
    def windows(conv):  # pool's 2x2 windows of the zero-filled 8x8 map, row-major
        filled = np.pad(conv, ((0, 0), (0, 1), (0, 1)))
        return filled.reshape(3, 4, 2, 4, 2).transpose(0, 1, 3, 2, 4).reshape(3, 4, 4, 4)

    seed = windows(pages["seed"][2]["conv"])
    assert (np.sum(seed == seed.max(axis=3, keepdims=True), axis=3) > 1).sum() == 5
    negative, _ = numpy_gradients(["loss=sum", "conv.bias=-1"])
    winners = windows(negative["conv"]).argmax(axis=3)  # the first maximum
    # The fill is the right column and bottom row: taps 1 and 3 of the last windows.
    assert (winners[:, :, 3] % 2 == 1).sum() + (winners[:, 3, :] >= 2).sum() > 0
    arrays, _ = numpy_gradients(["loss=sum", "conv.padding=1", "conv.normalize=none"])
    assert (arrays["conv"] == 0).sum() > 0


def test_every_cell_carries_its_stored_gradient(browser, pages, tmp_path):
    for name, (out, experiment, _, _) in pages.items():
        table = pq.read_table(out / "gradients.parquet").to_pandas()
        stored = {
            (row.stage, row.channel, row.row, row.col): row.value for row in table.itertuples()
        }
        with open_page(browser, out / "report.html") as page:
            cells = page.page.eval_on_selector_all(
                ".c:not(.k):not(.pad)",
                "els => els.map(e => [e.dataset.stage, +e.dataset.channel, +e.dataset.row,"
                " +e.dataset.col, e.dataset.grad === undefined ? null : e.dataset.grad])",
            )
            assert page.page.locator(".c.pad[data-grad]").count() == 0  # not the stage's cells
            assert page.errors == [] and page.requests == []
        assert len(cells) == len(stored), name  # every cell of every stage is shown
        for stage, c, r, q, text in cells:
            value = stored[(stage, c, r, q)]
            if experiment.dtype == np.float64:
                assert text == repr(value), (name, stage, c, r, q)
            else:
                assert text == str(np.float32(value)) and np.float32(text) == value
    # A forward-only page has neither gradients nor the view.
    run_experiment(compose_config(QUIET), tmp_path, show_matrices=False)
    with open_page(browser, tmp_path / "report.html") as page:
        assert page.page.locator("[data-grad]").count() == 0
        assert page.page.locator("#gradview").count() == 0
        assert "grad" not in page.page.evaluate("window.xopipe.shown()")
        # An override asks for a loss: the page differentiates it.
        grad = page.page.evaluate('window.xopipe.run({"loss": "sum"}).grad')
        assert list(grad) == ["input", "conv", "pool", "activation"]
        assert page.page.locator("[data-grad]").count() == 81 + 147 + 48 + 147
        assert page.errors == [] and page.requests == []


def test_a_target_file_shows_the_runs_gradients_and_recomputes_none(browser, tmp_path):
    target = tmp_path / "target.npy"
    np.save(target, np.full((3, 4, 4), 0.5))
    out = tmp_path / "run"
    overrides = ["loss=mse", f"+loss.targets.pool={target}", "loss.stages=[pool]"]
    run_experiment(compose_config([*overrides, *QUIET]), out, overrides, show_matrices=False)
    with open_page(browser, out / "report.html") as page:
        assert f"The targets of this loss are files (pool: {target})" in page.page.inner_text(
            "#gradbar"
        )
        assert page.page.locator("[data-grad]").count() == 81 + 147 + 48 + 147
        assert "grad" in page.page.evaluate("window.xopipe.shown()")
        assert "grad" not in page.page.evaluate("window.xopipe.run({})")
        page.page.check("#gradview")
        assert page.page.inner_text("#explain").startswith("No gradients for these values")
        message = page.page.evaluate(
            "() => { try { window.xopipe.run({'loss.targets.pool': 'x.npy'}) } "
            "catch (e) { return e.message } }"
        )
        assert message.startswith("loss.targets.pool: the page reads no files")
        assert page.errors == [] and page.requests == []


# In the page: gradient view on, then each cell selected; its text and the marked cells.
CLICK_ALL = """cells => { window.xopipe.gradientView(true); return cells.map(([s, c, r, q]) => {
  window.xopipe.select(s, c, r, q);
  const roles = {};
  for (const el of document.querySelectorAll("[data-role]")) {
    (roles[el.dataset.role] = roles[el.dataset.role] || []).push(
      [el.dataset.stage, +el.dataset.channel, +el.dataset.row, +el.dataset.col]);
  }
  return [document.getElementById("explain").textContent, roles];
}) }"""


def gradient_cells(experiment, arrays, name: str) -> list[tuple]:
    """Every cell of the seed; about 60 cells of the other pages, the same on every run."""
    cells = [(s, *index) for s in arrays for index in np.ndindex(arrays[s].shape)]
    if name == "seed":
        return cells
    picks = np.random.default_rng(len(name)).choice(len(cells), 60, replace=False)
    return [cells[i] for i in sorted(picks)]


def test_gradient_view_clicks_mark_the_readers_and_write_the_consoles_text(browser, pages):
    for name, (out, experiment, arrays, grads) in pages.items():
        relation = dependencies(experiment, arrays)
        cells = gradient_cells(experiment, arrays, name)
        with open_page(browser, out / "report.html") as page:
            if name == "seed":  # one real click through the checkbox and the grid
                page.page.check("#gradview")
                page.page.click('[data-stage="conv"][data-channel="1"][data-row="6"][data-col="6"]')
                assert page.page.inner_text("#picked").startswith("dL/dconv[1, 6, 6]")
                assert ("pool", 1, 3, 3) in page.cells('[data-role="source"]')
            got = page.page.evaluate(CLICK_ALL, [[s, *map(int, rest)] for s, *rest in cells])
            assert page.errors == [] and page.requests == []
        for (stage, c, r, q), (text, roles) in zip(cells, got, strict=True):
            cell = CellRef(stage, int(c), int(r), int(q))
            expected = explain_gradient(cell, experiment, arrays, grads).steps
            assert text == "\n".join(expected), (name, str(cell))
            index = (cell.channel, cell.row, cell.col)
            # Where its gradient comes from: the cells one stage down that read it.
            readers = {
                (reader, *out_cell)
                for reader in experiment.pipeline.order
                if experiment.stages[reader].spec.input == stage
                for out_cell in relation[reader][index]
            }
            assert {tuple(x) for x in roles.get("source", [])} == readers, (name, str(cell))
            # Where it goes on: the cells it reads.
            reads = set()
            if stage != "input":
                source = experiment.stages[stage].spec.input
                reads = {(source, *s) for s, outs in relation[stage].items() if index in outs}
            assert {tuple(x) for x in roles.get("feeds", [])} == reads, (name, str(cell))
