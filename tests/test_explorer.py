"""report.html as an explorer, in a real browser (tests/browser.py).

Clicks on random cells of many configs are checked against the Parquet
tables, against `explain` (the same text), and against an oracle for what a
cell reads and what reads it: a NaN put in one cell and run through the
NumPy backend shows exactly which cells downstream depend on it.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.browser import open_page
from tests.conftest import compose_config
from tests.test_explain import CONFIGS
from xopipe.backends import get_backend
from xopipe.experiment import build_experiment
from xopipe.explain import CellRef, explain
from xopipe.runner import run_experiment

pytestmark = pytest.mark.slow
QUIET = ["figures=none", "print_matrices=false"]
RANDOM = ["input=random", "input.seed=5", "kernels=random", "kernels.seed=2"]
# test_explain's configs, and two where zero fill lies on every side or windows overhang.
PAGES = {
    **CONFIGS,
    "pool_fill_on_every_side": [
        *RANDOM,
        "input.shape=[7,9]",
        "pool.pad=[1,0,2,1]",
        "pool.size=3",
        "pool.stride=2",
    ],
    "classic_avg_ceil_mode": [
        *RANDOM,
        "input.shape=[2,8,8]",
        "kernels.shape=[2,2,2,3]",
        "pipeline=classic",
        "pool=avg",
        "pool.size=3",
        "pool.stride=2",
        "pool.ceil_mode=true",
        "pool.padding=1",
    ],
}


def run(tmp_path, overrides):
    cfg = compose_config([*overrides, *QUIET])
    results = run_experiment(cfg, tmp_path, show_matrices=False)
    return build_experiment(cfg), results.arrays, tmp_path / "report.html"


def table_value(out_dir, stage, channel, row, col) -> float:
    table = pq.read_table(
        out_dir / "matrices.parquet",
        filters=[
            ("stage", "=", stage),
            ("channel", "=", channel),
            ("row", "=", row),
            ("col", "=", col),
        ],
    )
    assert table.num_rows == 1
    return table.column("value")[0].as_py()


def dependencies(experiment, arrays):
    """stage -> {source cell: output cells that become NaN when it is NaN} (NumPy backend)."""
    backend = get_backend("numpy")
    relation = {}
    for name in experiment.pipeline.order:
        stage = experiment.stages[name]
        x = arrays[stage.spec.input]
        reads = {}
        for index in np.ndindex(x.shape):
            poisoned = x.copy()
            poisoned[index] = np.nan
            out = stage.op.forward(backend, poisoned, stage.params)
            reads[index] = {tuple(int(i) for i in cell) for cell in np.argwhere(np.isnan(out))}
        relation[name] = reads
    return relation


def expected_feeds(experiment, relation, stage, cell):
    reached = {stage: {cell}}
    found = set()
    for name in experiment.pipeline.order:
        source = experiment.stages[name].spec.input
        if source not in reached:
            continue
        cells = set().union(*(relation[name][s] for s in reached[source]))
        reached[name] = cells
        found |= {(name, *c) for c in cells}
    return found


def border_positions(e, experiment, stage):
    """Positions of the window outside the source: padding, as the border cells show it."""
    _, height, width = e.source_shape
    spec = experiment.stages[stage]
    channels = (
        range(
            e.source_channel,
            e.source_channel + getattr(spec.params, "weight", np.zeros((1, 1))).shape[1],
        )
        if spec.spec.op == "conv"
        else [e.source_channel]
    )
    return {
        (e.source, c, r, q)
        for c in channels
        for r in e.rows
        for q in e.cols
        if not (0 <= r < height and 0 <= q < width)
    }


def random_cells(experiment, arrays, rng, per_stage):
    cells = []
    for name in ["input", *experiment.pipeline.order]:
        shape = arrays[name].shape
        picks = {(shape[0] - 1, shape[1] - 1, shape[2] - 1), (0, 0, 0)}
        while len(picks) < per_stage + 2 and len(picks) < math.prod(shape):
            picks.add(tuple(int(rng.integers(n)) for n in shape))
        cells += [(name, *p) for p in sorted(picks)]
    return cells


def click(page, stage, c, r, q):
    selector = f'[data-stage="{stage}"][data-channel="{c}"][data-row="{r}"][data-col="{q}"]'
    page.page.click(selector)
    return page.page.inner_text("#explain")


@pytest.mark.parametrize("name", sorted(PAGES))
def test_clicks_on_random_cells_match_the_tables_explain_and_the_oracle(browser, tmp_path, name):
    experiment, arrays, report = run(tmp_path, PAGES[name])
    relation = dependencies(experiment, arrays)
    rng = np.random.default_rng(len(name))
    with open_page(browser, report) as page:
        shown = page.cells()
        for stage, c, r, q in random_cells(experiment, arrays, rng, per_stage=4):
            text = click(page, stage, c, r, q)
            stored = table_value(tmp_path, stage, c, r, q)
            # The last number is the stored value in shortest round-trip digits.
            last = text.splitlines()[-1]
            number = last.split(" = ", 1)[1].split()[0]
            if experiment.dtype == np.float64:
                assert number == repr(stored), (stage, c, r, q, last)
            else:
                assert np.float32(number) == np.float32(stored) and number == str(
                    np.float32(stored)
                )
            roles = {role: page.cells(f'[data-role="{role}"]') for role in ("source", "feeds")}
            assert roles["feeds"] == expected_feeds(experiment, relation, stage, (c, r, q)) & shown
            if stage == "input":
                assert roles["source"] == set()
                continue
            e = explain(CellRef(stage, c, r, q), experiment, arrays)
            assert text == "\n".join(e.steps), (stage, c, r, q)
            reads = {(e.source, *s) for s, outs in relation[stage].items() if (c, r, q) in outs}
            border = border_positions(e, experiment, stage)
            assert border <= shown  # padding is drawn as the border it is
            assert roles["source"] == reads | border, (stage, c, r, q)
        assert page.requests == [] and page.errors == []


def test_seed_7_9_from_input_to_pool_and_kernel_shown(browser, tmp_path):
    experiment, arrays, report = run(tmp_path, [])
    with open_page(browser, report) as page:
        text = click(page, "conv", 0, 0, 0)
        assert text.endswith("stored conv[0, 0, 0] = 0.7777777777777778  (identical, bit for bit)")
        assert page.cells('[data-role="source"]') == {
            ("input", 0, r, q) for r in range(3) for q in range(3)
        }
        assert ("pool", 0, 0, 0) in page.cells('[data-role="feeds"]')
        assert ("activation", 0, 0, 0) in page.cells('[data-role="feeds"]')
        assert page.page.locator('.kernels [data-kernel="0"].used').count() == 9
        text = click(page, "pool", 0, 3, 3)
        assert (
            "zeros added to pool's input first (pool.pad): left 0, right 1, top 0, bottom 1" in text
        )
        # conv[0, 6, 6] and three cells of the zero fill (the border below and right of conv).
        assert page.cells('[data-role="source"]') == {
            ("conv", 0, 6, 6),
            ("conv", 0, 6, 7),
            ("conv", 0, 7, 6),
            ("conv", 0, 7, 7),
        }
        # Every displayed cell carries the contract's four attributes.
        assert page.page.locator(".c:not(.k)").count() == len(page.cells())
        assert page.requests == [] and page.errors == []
