"""Every control of report.html, used as a reader would, in a real browser (tests/browser.py).

Each field and select is typed or picked and left (Tab), so the form's own change event
recomputes; the values shown are checked against the NumPy backend, "Back to the run's
values" against the run's matrices.parquet bit for bit, a bad value against the command
line's one line. No test here may leave a script or console error on the page.
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

pytestmark = pytest.mark.slow
QUIET = ["figures=none", "print_matrices=false"]
TOLERANCE = 1e-12
STORED = "Showing the run's own values (matrices.parquet)."
RECOMPUTED = "Recomputed in the page (JavaScript, float64) in "

# Every control of the seed's page, changed one after another (each change on top of the
# ones before, each one changing the values): what the reader does, and the override.
STEPS = [
    ("conv.stride", "2", "conv.stride=2"),
    ("conv.padding", "1", "conv.padding=1"),
    ("conv.padding_mode", "reflect", "conv.padding_mode=reflect"),
    ("conv.dilation", "2", "conv.dilation=2"),
    ("pool", "avg", "pool=avg"),
    ("pool.size", "3", "pool.size=3"),
    ("pool.stride", "1", "pool.stride=1"),
    ("activation", "sigmoid", "activation=sigmoid"),
]


def run(out, overrides):
    run_experiment(compose_config([*overrides, *QUIET]), out, overrides, show_matrices=False)
    return out / "report.html"


def numpy_arrays(overrides) -> dict[str, np.ndarray]:
    return execute(build_experiment(compose_config(overrides)), get_backend("numpy")).arrays


def parquet_arrays(out) -> dict[str, np.ndarray]:
    """Every stage of matrices.parquet as [C, H, W] float64."""
    table = pq.read_table(out / "matrices.parquet").to_pydict()
    arrays = {}
    for stage in dict.fromkeys(table["stage"]):
        rows = [i for i, s in enumerate(table["stage"]) if s == stage]
        index = [[table[k][i] for i in rows] for k in ("channel", "row", "col")]
        shape = tuple(max(axis) + 1 for axis in index)
        array = np.full(shape, np.nan)
        array[tuple(index)] = [table["value"][i] for i in rows]
        arrays[stage] = array
    return arrays


def shown(page) -> dict[str, np.ndarray]:
    """The values the page shows now, as arrays."""
    plain = page.page.evaluate("() => window.xopipe.shown()")
    return {
        name: np.array(t["data"], dtype=np.float64).reshape(t["shape"]) for name, t in plain.items()
    }


def set_control(page, key, value):
    """As a reader does it: pick from the select, or type into the field and leave it."""
    control = page.page.locator(f'#controls [data-key="{key}"]')
    if control.evaluate("e => e.tagName") == "SELECT":
        control.select_option(value)
    else:
        control.fill(value)
        control.press("Tab")


def controls(page) -> dict[str, str]:
    return page.page.eval_on_selector_all(
        "#controls [data-key]", "els => Object.fromEntries(els.map(e => [e.dataset.key, e.value]))"
    )


def status(page) -> tuple[str, str]:
    return page.page.inner_text("#status"), page.page.get_attribute("#status", "class")


def cell_texts(page) -> list[list[str]]:
    return page.page.eval_on_selector_all(
        "[data-stage]",
        "els => els.map(e => [e.dataset.stage, e.dataset.channel, e.dataset.row,"
        " e.dataset.col, e.className, e.textContent])",
    )


def assert_close(got, want, what):
    assert set(got) == set(want), what
    for name, array in want.items():
        assert got[name].shape == array.shape, (what, name)
        np.testing.assert_allclose(got[name], array, rtol=TOLERANCE, atol=TOLERANCE, err_msg=what)


def assert_bits(got, want):
    """Equal bit for bit (a -0.0 against 0.0 or a NaN's payload counts)."""
    assert set(got) == set(want)
    for name, array in want.items():
        assert got[name].shape == array.shape, name
        assert np.array_equal(got[name].view(np.uint64), array.view(np.uint64)), name


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_control_recomputes_and_back_restores_the_runs_own_values(browser, tmp_path, dtype):
    report = run(tmp_path, [f"dtype={dtype}"])
    stored = parquet_arrays(tmp_path)
    with open_page(browser, report) as page:
        assert set(controls(page)) == {key for key, _, _ in STEPS}  # every control is a step
        first = controls(page)
        first_cells = cell_texts(page)
        assert_bits(shown(page), stored)
        given: list[str] = []
        before = shown(page)
        for key, value, override in STEPS:
            set_control(page, key, value)
            given.append(override)
            text, kind = status(page)
            assert text.startswith(RECOMPUTED) and kind == "ok", (key, text)
            now = shown(page)
            assert_close(now, numpy_arrays(given), str(given))
            assert any(
                now[n].shape != before[n].shape or not np.array_equal(now[n], before[n])
                for n in now
            ), key  # the control changed something
            conv = now["conv"]
            assert len(page.cells('[data-stage="conv"]:not(.pad)')) == conv.size  # drawn
            before = now
        assert page.page.evaluate("() => window.xopipe.recomputed") is True

        page.page.get_by_role("button", name="Back to the run's values").click()
        assert status(page) == (STORED, "ok")
        assert page.page.evaluate("() => window.xopipe.recomputed") is False
        assert_bits(shown(page), stored)
        assert controls(page) == first  # each field and select shows the run's value again
        assert cell_texts(page) == first_cells  # and every grid is drawn as it was
        page.page.click('[data-stage="conv"][data-channel="0"][data-row="0"][data-col="0"]')
        last = page.page.inner_text("#explain").splitlines()[-1]
        value = stored["conv"][0, 0, 0]
        digits = repr(float(value)) if dtype == "float64" else str(np.float32(value))
        assert last == f"stored conv[0, 0, 0] = {digits}  (identical, bit for bit)"
        assert page.errors == [] and page.requests == []


# A bad value typed into a field: the command line's one line, and the page keeps working.
BAD = [
    ("conv.stride", "0", "conv.stride=0"),
    ("conv.stride", "abc", "conv.stride=abc"),
    ("conv.stride", "1.5", "conv.stride=1.5"),
    ("conv.padding", "-1", "conv.padding=-1"),
    ("conv.dilation", "5", "conv.dilation=5"),
    ("pool.size", "0", "pool.size=0"),
    ("pool.stride", "0", "pool.stride=0"),
]


def test_a_bad_value_shows_the_command_lines_one_line(browser, tmp_path):
    report = run(tmp_path / "run", [])
    stored = parquet_arrays(tmp_path / "run")
    with open_page(browser, report) as page:
        first = controls(page)
        for number, (key, value, override) in enumerate(BAD):
            cli = run_cli(override, *QUIET, f"hydra.run.dir={tmp_path / str(number)}")
            assert cli.code == 2 and cli.stderr.startswith("error: "), cli
            set_control(page, key, value)
            text, kind = status(page)
            assert kind == "bad" and "\n" not in text
            assert text == cli.stderr.strip().removeprefix("error: "), override
            assert_bits(shown(page), stored)  # the grids still show the last good values
            set_control(page, key, first[key])
            assert status(page)[1] == "ok"
        set_control(page, "conv.stride", "2")
        assert shown(page)["conv"].shape == (3, 4, 4)
        assert page.errors == [] and page.requests == []


def cell_width(page, selector):
    return page.page.eval_on_selector(selector, "e => e.getBoundingClientRect().width")


def test_ctrl_wheel_and_the_buttons_zoom(browser, tmp_path):
    report = run(tmp_path, [])
    corner = '[data-stage="input"][data-row="0"][data-col="0"]'
    conv = '[data-stage="conv"][data-channel="0"][data-row="0"][data-col="0"]'
    with open_page(browser, report) as page:
        start, conv_start = cell_width(page, corner), cell_width(page, conv)
        box = page.page.locator("#stage-0 .port").bounding_box()
        page.page.mouse.move(box["x"] + 20, box["y"] + 20)
        page.page.mouse.wheel(0, 100)  # no Ctrl: the page scrolls, nothing zooms
        assert cell_width(page, corner) == start
        box = page.page.locator("#stage-0 .port").bounding_box()
        page.page.mouse.move(box["x"] + 20, box["y"] + 20)
        page.page.keyboard.down("Control")
        page.page.mouse.wheel(0, -100)
        page.page.keyboard.up("Control")
        bigger = cell_width(page, corner)
        assert bigger == pytest.approx(round(start * 1.25), abs=1)
        page.page.keyboard.down("Control")
        page.page.mouse.wheel(0, 100)
        page.page.mouse.wheel(0, 100)
        page.page.keyboard.up("Control")
        assert cell_width(page, corner) < start
        page.page.click("#stage-0 button.zoom >> nth=1")
        page.page.click("#stage-0 button.zoom >> nth=1")
        assert cell_width(page, corner) > start
        page.page.click("#stage-0 button.zoom >> nth=0")
        assert cell_width(page, corner) < bigger * 1.25
        assert cell_width(page, conv) == conv_start  # zoom is the grid's own
        assert page.errors == [] and page.requests == []


def test_dragging_pans_a_large_grid_and_picks_no_cell(browser, tmp_path):
    report = run(tmp_path, ["input=random", "input.shape=[100,100]", "input.seed=4"])
    port = "#stage-0 .port"
    scroll = "e => [e.scrollLeft, e.scrollTop]"
    with open_page(browser, report) as page:
        for _ in range(4):
            page.page.click("#stage-0 button.zoom >> nth=1")
        sizes = page.page.eval_on_selector(
            port, "e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]"
        )
        assert sizes[0] > sizes[1] + 300 and sizes[2] > sizes[3] + 300  # room to pan both ways
        assert page.page.eval_on_selector(port, scroll) == [0, 0]
        page.page.locator(port).scroll_into_view_if_needed()
        box = page.page.locator(port).bounding_box()
        x, y = box["x"] + 300, box["y"] + 300  # in the port, and in the viewport
        page.page.mouse.move(x, y)
        page.page.mouse.down()
        page.page.mouse.move(x - 100, y - 60, steps=5)
        page.page.mouse.move(x - 200, y - 120, steps=5)
        page.page.mouse.up()
        left, top = page.page.eval_on_selector(port, scroll)
        assert left == pytest.approx(200, abs=2) and top == pytest.approx(120, abs=2)
        assert page.page.inner_text("#picked") == ""  # a drag is not a click
        # A plain click still picks the cell under the pointer.
        page.page.mouse.click(x, y)
        assert page.page.inner_text("#picked").startswith("input[0, ")
        assert page.errors == [] and page.requests == []
