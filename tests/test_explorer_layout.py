"""The explorer's layout in a real browser (tests/browser.py): every cell of the seed in sight.

At 900 and 1400 px wide, no cell of the seed's grids is cut off by a box that scrolls
on its own (the page itself may scroll), the arithmetic stays beside the grids, and the
hatched border a reader's padding draws around a stage says what it is.
"""

from __future__ import annotations

import pytest

from tests.browser import open_page
from tests.conftest import compose_config
from xopipe.runner import run_experiment

pytestmark = pytest.mark.slow
QUIET = ["figures=none", "print_matrices=false"]

# Each cell against every ancestor that clips (overflow other than visible): the cells
# outside an ancestor's visible box, which only a scroll inside the page would show.
HIDDEN = """() => {
  const hidden = [];
  const page = document.documentElement.clientWidth;
  for (const cell of document.querySelectorAll("[data-stage]")) {
    const r = cell.getBoundingClientRect();
    const name = [cell.dataset.stage, cell.dataset.channel, cell.dataset.row, cell.dataset.col];
    if (r.width < 6 || r.height < 6 || r.left < 0 || r.right > page) {
      hidden.push(name);
      continue;
    }
    for (let a = cell.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const box = a.getBoundingClientRect();
      const top = box.top + a.clientTop, left = box.left + a.clientLeft;
      if (r.top < top - 0.5 || r.left < left - 0.5 ||
          r.bottom > top + a.clientHeight + 0.5 || r.right > left + a.clientWidth + 0.5) {
        hidden.push(name);
        break;
      }
    }
  }
  return hidden;
}"""


def run(out, overrides):
    run_experiment(compose_config([*overrides, *QUIET]), out, overrides, show_matrices=False)
    return out / "report.html"


def notes(page) -> dict[str, str]:
    """Each stage section's note on its hatched border, by the stage's name."""
    return page.page.eval_on_selector_all(
        ".stage",
        "els => Object.fromEntries(els.map(e => [e.querySelector('h3').firstChild.textContent,"
        " (e.querySelector('.padnote') || {}).textContent || '']))",
    )


@pytest.mark.parametrize("width", [900, 1400])
def test_every_cell_of_the_seed_is_in_sight(browser, tmp_path, width):
    report = run(tmp_path, [])
    with open_page(browser, report, width=width, height=900) as page:
        cells = page.cells()
        # input 9x9; conv 3x8x8 with pool's zero fill; pool 3x4x4; activation 3x7x7.
        assert len(cells) == 81 + 3 * 64 + 3 * 16 + 3 * 49
        assert page.page.evaluate(HIDDEN) == []
        # The arithmetic sits beside the grids, not below them all.
        stages = page.page.locator("#stages").bounding_box()
        side = page.page.locator(".side").bounding_box()
        assert side["x"] >= stages["x"] + stages["width"] and side["y"] < stages["y"] + 100
        page.page.screenshot(path=str(tmp_path / f"seed_{width}.png"), full_page=True)
        assert page.errors == [] and page.requests == []


def test_the_hatched_border_says_what_it_is(browser, tmp_path):
    with open_page(browser, run(tmp_path / "seed", [])) as page:
        assert notes(page) == {
            "input": "",
            "conv": "hatched cells: the padding pool reads beyond the edge, "
            "not part of the 7×7 map",
            "pool": "",
            "activation": "",
        }
        # Only sections with a note draw hatched cells.
        hatched = {stage for stage, *_ in page.cells("[data-stage].pad")}
        assert hatched == {"conv"}
        assert page.errors == [] and page.requests == []
    overrides = ["pipeline=two_layer", "input=random", "input.shape=[16,16]", "figures.lang=zh"]
    with open_page(browser, run(tmp_path / "two_layer", overrides)) as page:
        found = notes(page)
        # conv2's `same` padding around pool; pool2's zero fill below and right of activation2.
        assert found["pool"] == "斜线格：conv2 在边缘之外读取的填充，不属于 7×7 的图"
        assert found["activation2"] == "斜线格：pool2 在边缘之外读取的填充，不属于 7×7 的图"
        assert found["conv"] == found["activation"] == found["conv2"] == found["pool2"] == ""
        hatched = {stage for stage, *_ in page.cells("[data-stage].pad")}
        assert hatched == {"pool", "activation2"}
        assert page.errors == [] and page.requests == []
