"""The explorer page: safe with hostile strings, in Chinese, and at 256x256 and 1024x1024."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.browser import open_page
from tests.conftest import compose_config
from xopipe.runner import run_experiment

pytestmark = pytest.mark.slow
QUIET = ["figures=none", "print_matrices=false"]


def run(out, overrides):
    run_experiment(compose_config([*overrides, *QUIET]), out, overrides, show_matrices=False)
    return out / "report.html"


def stored(out, stage, c, r, q) -> float:
    table = pq.read_table(out / "matrices.parquet").to_pandas()
    row = table[(table.stage == stage) & (table.channel == c) & (table.row == r) & (table.col == q)]
    return float(row.value.iloc[0])


def test_hostile_input_paths_execute_nothing_and_nothing_is_requested(browser, tmp_path):
    # The path holds a whole <script> element (across a folder) and an attribute breakout.
    folder = tmp_path / '"><img src=x onerror="window.pwned=1"><script>window.pwned=2<'
    folder.mkdir()
    path = folder / "script>.csv"
    np.savetxt(path, np.random.default_rng(0).uniform(-1, 1, (6, 6)), delimiter=",")
    assert "<script>window.pwned=2</script>" in str(path)
    out = tmp_path / "run"
    report = run(out, ["input=file", f"input.path='{path}'"])
    assert str(path) not in report.read_text()  # escaped wherever it appears
    with open_page(browser, report) as page:
        assert page.page.evaluate("window.pwned") is None
        page.page.click('[data-stage="conv"][data-channel="0"][data-row="0"][data-col="0"]')
        assert page.page.evaluate("window.pwned") is None
        assert "img" not in [
            e.lower() for e in page.page.eval_on_selector_all("img", "e => e.map(x => x.tagName)")
        ]
        assert page.requests == [] and page.errors == []
        # The path is shown as text, as given.
        assert str(path) in page.page.inner_text("body")


def test_the_page_in_chinese(browser, tmp_path):
    report = run(tmp_path, ["figures.lang=zh"])
    text = report.read_text()
    assert '<html lang="zh-CN">' in text
    with open_page(browser, report) as page:
        body = page.page.inner_text("body")
        assert "经过 seed 流程" in body and "交互浏览" in body and "配置" in body
        assert page.page.inner_text("#explain") == "点击一个格子，查看它是如何计算出来的。"
        page.page.click('[data-stage="pool"][data-channel="1"][data-row="0"][data-col="2"]')
        assert page.page.inner_text("#picked").startswith("pool[1, 0, 2] · 输入: 4 · 下游: 0")
        page.page.screenshot(path=str(tmp_path / "zh.png"))
        assert page.requests == [] and page.errors == []


def test_256x256_is_fully_interactive_with_zoom(browser, tmp_path):
    report = run(tmp_path, ["input=random", "input.shape=[256,256]", "input.seed=3"])
    with open_page(browser, report) as page:
        count = page.page.locator('[data-stage="input"]:not(.pad)').count
        assert count() == 256 * 256
        conv = '[data-stage="conv"][data-channel="0"]:not(.pad)'
        assert page.page.locator(conv).count() == 254 * 254  # one channel at a time
        cell = '[data-stage="conv"][data-channel="0"][data-row="200"][data-col="131"]'
        page.page.click(cell)
        text = page.page.inner_text("#explain")
        assert text.splitlines()[-1].startswith(
            f"stored conv[0, 200, 131] = {stored(tmp_path, 'conv', 0, 200, 131)!r}  ("
        )
        assert page.cells('[data-role="source"]') == {
            ("input", 0, r, q) for r in range(200, 203) for q in range(131, 134)
        }
        assert ("pool", 0, 100, 65) in page.cells('[data-role="feeds"]')
        # Another channel: the grids follow the click.
        page.page.select_option("#stage-1 select", "2")
        page.page.click('[data-stage="conv"][data-channel="2"][data-row="5"][data-col="7"]')
        assert ("activation", 2, 5, 7) in page.cells('[data-role="feeds"]')
        corner = '[data-stage="input"][data-row="0"][data-col="0"]'
        width = "e => e.getBoundingClientRect().width"
        before = page.page.eval_on_selector(corner, width)
        page.page.click("#stage-0 button.zoom >> nth=1")
        assert page.page.eval_on_selector(corner, width) > before * 1.2
        assert page.requests == [] and page.errors == []


def test_1024x1024_shows_a_map_and_opens_a_64x64_window(browser, tmp_path):
    overrides = [
        "input=random",
        "input.shape=[1024,1024]",
        "kernels=random",
        "kernels.shape=[1,1,3,3]",
    ]
    report = run(tmp_path, overrides)
    with open_page(browser, report) as page:
        assert page.page.locator("canvas.map").count() == 4  # input, conv, pool, activation
        assert len(page.cells('[data-stage="input"]')) == 64 * 64
        # A click on the map at three quarters across and half down opens the window there.
        box = page.page.locator("#stage-0 canvas.map").bounding_box()
        page.page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.5)
        rows = {r for _, _, r, _ in page.cells('[data-stage="input"]')}
        cols = {q for _, _, _, q in page.cells('[data-stage="input"]')}
        assert (
            len(rows) == len(cols) == 64
            and min(rows) <= 512 < max(rows)
            and min(cols) <= 768 < max(cols)
        )
        # A click in conv's window: the arithmetic ends on the table's value, the sources are shown.
        conv_rows = sorted({r for _, _, r, _ in page.cells('[data-stage="conv"]')})
        r, q = conv_rows[10], 20
        page.page.click(f'[data-stage="conv"][data-channel="0"][data-row="{r}"][data-col="{q}"]')
        last = page.page.inner_text("#explain").splitlines()[-1]
        assert last.startswith(
            f"stored conv[0, {r}, {q}] = {stored(tmp_path, 'conv', 0, r, q)!r}  ("
        )
        assert page.cells('[data-role="source"]') == {
            ("input", 0, a, b) for a in range(r, r + 3) for b in range(q, q + 3)
        }
        assert page.requests == [] and page.errors == []


PANEL = (
    "() => { const e = document.getElementById('explain'); return [e.scrollWidth, e.clientWidth]; }"
)
ROW_LINES = "els => els.map(e => e.getClientRects().length)"


def test_the_explain_panel_wraps_text_and_keeps_grid_rows_whole(browser, tmp_path):
    # 1400 px wide: the seed's first line (89 characters) is wider than the panel.
    report = run(tmp_path / "seed", [])
    with open_page(browser, report) as page:
        page.page.click('[data-stage="conv"][data-channel="0"][data-row="1"][data-col="1"]')
        scroll, client = page.page.evaluate(PANEL)
        assert scroll <= client  # every character inside the panel, none cut off
        assert page.page.inner_text("#explain").splitlines()[0] == (
            "explain conv[0, 1, 1]: channel 0, row 1, col 1 of conv [3×7×7],"
            " which reads input [1×9×9]"
        )
        rows = page.page.eval_on_selector_all("#explain .row", ROW_LINES)
        assert len(rows) == 9 and set(rows) == {1}  # three 3x3 grids, each row on one line
    # 7x7 random kernels: a grid row is wider than the panel; it stays whole, the panel scrolls.
    wide = ["input=random", "input.seed=5", "kernels=random", "kernels.seed=2"]
    report = run(tmp_path / "wide", [*wide, "kernels.shape=[1,1,7,7]"])
    with open_page(browser, report) as page:
        page.page.click('[data-stage="conv"][data-channel="0"][data-row="0"][data-col="0"]')
        scroll, client = page.page.evaluate(PANEL)
        assert scroll > client
        assert (
            page.page.eval_on_selector("#explain", "e => getComputedStyle(e).overflowX") == "auto"
        )
        rows = page.page.eval_on_selector_all("#explain .row", ROW_LINES)
        assert len(rows) == 21 and set(rows) == {1}
        assert page.requests == [] and page.errors == []
