"""report.html's sentences: Chinese without English words on a zh page, English that reads right
whatever tables.formats and tables.stages say, and a zh page in a browser with no Chinese font."""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

import matplotlib
import pytest

import xopipe.html.report
from tests.browser import CHROMIUM, open_page
from tests.conftest import compose_config
from xopipe.figures import fonts
from xopipe.runner import run_experiment

QUIET = ["figures=none", "print_matrices=false"]

# Text nodes of the page's sentences: everything shown but code, config, files and choices.
SENTENCES_JS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.parentElement;
    if (at.closest("pre, select, table.files, script, style, [hidden]")) continue;
    if (at.closest(".c")) continue;  // a grid cell's number
    if (node.textContent.trim()) found.push(node.textContent.trim());
  }
  return found;
}"""


def run(out: Path, overrides: list[str]) -> str:
    run_experiment(compose_config(overrides), out, overrides, show_matrices=False)
    return (out / "report.html").read_text(encoding="utf-8")


def english_words(sentences: list[str], names: set[str]) -> set[str]:
    """Latin words left once file names, keys, numbers and the run's own names are set aside."""
    left = set()
    for sentence in sentences:
        # file names and keys (matrices/conv_<channel>.csv, conv.stride, figures.lang=zh)
        text = re.sub(r"\S*[./_<>=]\S*", " ", sentence)
        text = re.sub(r"\b\w*\d\w*\b", " ", text)  # numbers, float64, sha256
        left |= {word for word in re.findall(r"[A-Za-z]+", text) if word not in names}
    return left


def notes(page: str) -> list[str]:
    """The notes of the stage list and the page, as a reader sees them."""
    found = re.findall(r'<(?:span|p) class="note">(.*?)</(?:span|p)>', page, flags=re.S)
    return [html.unescape(note) for note in found]


def test_the_zh_page_of_a_seed_run_has_no_english_word_in_its_sentences(browser, tmp_path):
    run(tmp_path, ["figures.lang=zh", "print_matrices=false"])  # with its figures
    # The run's own names: product, stage and op names, config values, the relu formula.
    names = {"xopipe", "seed", "numpy", "input", "conv", "pool", "activation", "relu", "max"}
    names |= {"x", "JavaScript"}  # the input's name; the recompute line names the language
    with open_page(browser, tmp_path / "report.html") as page:
        shown = page.page.evaluate(SENTENCES_JS)
        page.page.click('[data-stage="conv"][data-channel="0"][data-row="1"][data-col="1"]')
        page.page.evaluate('window.xopipe.run({"conv.stride": 2})')
        shown += page.page.evaluate(SENTENCES_JS)
        assert page.errors == []
    assert "磁盘上的保存位置：matrices.parquet 和 matrices/pool_<channel>.csv。" in shown
    assert "卷积核 0 · 偏置 0.0" in shown and "总览 (figures/overview.png)" in shown
    assert english_words(shown, names) == set(), shown


SEED_CELLS = "423"  # 81 input + 147 conv + 48 pool + 147 activation


def test_the_zh_notes_where_nothing_is_saved_and_on_a_large_run(tmp_path, monkeypatch):
    monkeypatch.setattr(xopipe.html.report, "MAX_CELLS", 100)
    said = notes(run(tmp_path / "none", ["figures.lang=zh", "tables.formats=[]", *QUIET]))
    assert said == [
        "未保存到磁盘（tables.formats 为空）。",
        "未保存到磁盘（tables.formats 为空）。 卷积核与偏置也未保存。",
        "未保存到磁盘（tables.formats 为空）。",
        "未保存到磁盘（tables.formats 为空）。",
        "本次运行关闭了图（figures=none）。",
        f"本次运行共有 {SEED_CELLS} 个数值，超过本页可容纳的 100 个，因此本页没有交互浏览；"
        "上面的列表说明了每一步的数值保存在哪里。",
    ]
    said = notes(run(tmp_path / "all", ["figures.lang=zh", *QUIET]))
    assert said[-1] == (
        f"本次运行共有 {SEED_CELLS} 个数值，超过本页可容纳的 100 个，因此本页没有交互浏览；"
        "所有数值的保存位置：matrices.parquet 和 matrices/<stage>_<channel>.csv。"
    )


def test_the_english_notes_read_right_whatever_is_saved(tmp_path, monkeypatch):
    said = notes(run(tmp_path / "default", QUIET))
    assert said[:2] == [
        "On disk, every value is in matrices.parquet and matrices/input_<channel>.csv.",
        "On disk, every value is in matrices.parquet and matrices/conv_<channel>.csv. "
        "Its kernels and bias: every value is in weights.parquet and "
        "weights/conv_<kernel>_<channel>.csv.",
    ]
    said = notes(run(tmp_path / "empty", ["tables.formats=[]", *QUIET]))
    assert said[:3] == [
        "Not saved on disk (tables.formats is empty).",
        "Not saved on disk (tables.formats is empty). Its kernels and bias are not saved either.",
        "Not saved on disk (tables.formats is empty).",
    ]
    said = notes(run(tmp_path / "pool", ["tables.stages=[pool]", "tables.formats=[csv]", *QUIET]))
    assert said[:3] == [
        "Not saved on disk (tables.stages leaves input out).",
        "Not saved on disk (tables.stages leaves conv out). "
        "Its kernels and bias: every value is in weights/conv_<kernel>_<channel>.csv.",
        "On disk, every value is in matrices/pool_<channel>.csv.",
    ]
    assert not [n for n in notes(run(tmp_path / "x", QUIET)) if "is not saved" in n]


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ([], "every value is in matrices.parquet and matrices/<stage>_<channel>.csv."),
        (["tables.formats=[parquet]"], "every value is in matrices.parquet."),
        (["tables.stages=[pool]"], "the list above says where each stage's values are on disk."),
        (["tables.formats=[]"], "the list above says where each stage's values are on disk."),
    ],
)
def test_a_large_run_says_where_every_value_is(tmp_path, monkeypatch, overrides, where):
    monkeypatch.setattr(xopipe.html.report, "MAX_CELLS", 100)
    said = notes(run(tmp_path, [*overrides, *QUIET]))
    assert said[-1] == (
        f"This run has {SEED_CELLS} cells, more than the page holds (100), so the page has no "
        f"explorer; {where}"
    )
    assert "first stage" not in " ".join(said)


def _browser_without_cjk_fonts(browser, tmp_path: Path):
    """The same Chromium, seeing only matplotlib's DejaVu fonts (no Chinese glyph among them)."""
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{dejavu}</dir><cachedir>{tmp_path / 'font-cache'}</cachedir></fontconfig>"
    )
    return browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-dev-shm-usage"],
        env={"FONTCONFIG_FILE": str(config), "HOME": str(tmp_path)},
    )


NOTE = "#no-cjk-font"


def test_a_zh_page_says_in_english_when_the_browser_has_no_chinese_font(
    browser, tmp_path, monkeypatch, caplog
):
    """Run without a CJK font: English figures, one warning that the page needs the viewer's
    font; the page itself says so only in a browser that lacks one."""
    monkeypatch.setattr(fonts, "system_font", lambda: None)
    with caplog.at_level(logging.WARNING):
        run(tmp_path / "run", ["figures.lang=zh", "print_matrices=false"])
    warned = [r.getMessage() for r in caplog.records if "Chinese glyphs" in r.getMessage()]
    assert len(warned) == 1
    assert (
        "report.html stays in Chinese: a browser shows it with a Chinese font of its own"
        in (warned[0])
    )
    report = tmp_path / "run" / "report.html"
    with open_page(browser, report) as page:  # this browser has one (fonts-wqy-microhei)
        assert page.page.is_hidden(NOTE) and page.errors == []
    bare = _browser_without_cjk_fonts(browser, tmp_path)
    try:
        with open_page(bare, report) as page:
            assert page.page.is_visible(NOTE) and page.errors == []
            assert page.page.inner_text(NOTE).startswith(
                "This page is in Chinese (figures.lang=zh), but this browser has no font with "
                "Chinese characters, so they show as empty boxes"
            )
            page.page.screenshot(path=str(tmp_path / "no-cjk.png"))
    finally:
        bare.close()
    english = run(tmp_path / "en", QUIET)
    assert 'id="no-cjk-font"' not in english and 'drawn("卷")' not in english
