"""report.html: self-contained, with the figures, the explorer's data, the config and the files.

What the page does in a browser is tested in test_explorer.py.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tests.conftest import compose_config
from xopipe.runner import run_experiment


class Page(HTMLParser):
    """What a browser would load: every src/href, and the cells of the matrix tables."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []
        self.cells: list[str] = []
        self.open_tags: list[str] = []
        self._in_cell = False
        self._in_grid = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "table":
            self._in_grid = values.get("class") == "grid"
        if "src" in values:
            self.sources.append(values["src"] or "")
        if "href" in values:
            self.links.append(values["href"] or "")
        if tag == "td" and self._in_grid:
            self._in_cell = True
            self.cells.append("")
        if tag not in ("img", "meta", "br", "input"):
            self.open_tags.append(tag)

    def handle_endtag(self, tag):
        assert self.open_tags and self.open_tags[-1] == tag, (tag, self.open_tags[-5:])
        self.open_tags.pop()
        if tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


def read_page(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    assert page.open_tags == []  # every tag closed, in order
    return text, page


@pytest.fixture(scope="module")
def seed_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    overrides = ["explain=pool:1:0:2", "figures.animate=true", "print_matrices=false"]
    run_experiment(compose_config(overrides), out, overrides)
    return out


def test_report_is_self_contained(seed_report):
    text, page = read_page(seed_report / "report.html")
    assert page.sources and all(src.startswith("data:image/") for src in page.sources)
    assert page.links == []
    assert not re.search(r"https?://|url\(|@import", text)
    # Two scripts: the data (JSON, not run) and the page's own code, both inline.
    assert re.findall(r"<script[^>]*>", text) == [
        '<script type="application/json" id="xopipe-data">',
        "<script>",
    ]
    assert "default-src 'none'" in text  # the browser refuses any request, should one slip in


def test_report_embeds_every_figure_as_a_decodable_image(seed_report):
    _, page = read_page(seed_report / "report.html")
    figures = sorted(p.name for p in (seed_report / "figures").iterdir())
    assert len(page.sources) == len(figures)  # overview, input, kernels, 3 stages, explain, 2 GIFs
    kinds = []
    for source in page.sources:
        header, data = source.split(",", 1)
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            kinds.append(image.format)
            assert image.size[0] > 300
        assert header in ("data:image/png;base64", "data:image/gif;base64")
    assert kinds.count("GIF") == 2 and kinds.count("PNG") == len(figures) - 2
    on_disk = (seed_report / "figures" / "overview.png").read_bytes()
    assert base64.b64encode(on_disk).decode() in page.sources[0]  # the overview comes first


def page_data(text: str) -> dict:
    start = text.index('<script type="application/json" id="xopipe-data">')
    body = text[text.index(">", start) + 1 : text.index("</script>", start)]
    return json.loads(body)


def test_report_carries_every_array_exactly(seed_report):
    text, _ = read_page(seed_report / "report.html")
    data = page_data(text)
    table = pq.read_table(seed_report / "matrices.parquet").to_pandas()
    stages = {"input": data["input"], **{s["name"]: s for s in data["stages"]}}
    assert list(stages) == ["input", "conv", "pool", "activation"]
    for name, entry in stages.items():
        values = np.frombuffer(base64.b64decode(entry["data"]), dtype="<f8")
        expected = table[table.stage == name].sort_values(["channel", "row", "col"]).value
        assert values.reshape(entry["shape"]).shape == tuple(entry["shape"])
        assert values.tobytes() == expected.to_numpy().tobytes()
    kernel = stages["conv"]["kernel"]
    assert kernel["shape"] == [3, 1, 3, 3]
    weights = np.frombuffer(base64.b64decode(kernel["data"]), dtype="<f8")
    assert weights[:9].tolist() == [1, -1, -1, -1, 1, -1, -1, -1, 1]
    assert data["config"]["conv"]["stride"] == 1 and data["config"]["pool"]["name"] == "max"


def test_report_shows_the_stages_the_explanation_config_and_files(seed_report):
    text, _ = read_page(seed_report / "report.html")
    assert "3 kernels 3×3, stride 1; cell = Σ(window × kernel) / 9" in text
    assert "max of each 2×2 window, stride 2, zeros added: right 1, bottom 1" in text
    assert "explain pool[1, 0, 2]" in text and "(identical, bit for bit)" in text
    assert "explain=pool:1:0:2 figures.animate=true print_matrices=false" in text
    assert "backend:\n  name: numpy" in text
    manifest = json.loads((seed_report / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        if name != "report.html":
            assert f"<td>{name}</td><td>{digest}</td>" in text
    digest = hashlib.sha256((seed_report / "report.html").read_bytes()).hexdigest()
    assert manifest["files"]["report.html"] == digest


def test_the_page_leaves_the_runs_status_to_the_manifest(seed_report):
    """The page is written before the run ends: it never says running (or complete); every
    fact it shows is the final manifest's."""
    text, _ = read_page(seed_report / "report.html")
    start = text.index("<pre>", text.index('<table class="files">')) + len("<pre>")
    facts = json.loads(html.unescape(text[start : text.index("</pre>", start)]))
    manifest = json.loads((seed_report / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert "status" not in facts and "error" not in facts and "running" not in text
    assert {key: manifest[key] for key in facts} == facts
    assert "manifest.json, written last, says complete or failed." in text


def test_report_without_figures_still_has_the_explorer(tmp_path):
    run_experiment(compose_config(["figures=none", "print_matrices=false"]), tmp_path)
    text, page = read_page(tmp_path / "report.html")
    assert page.sources == []
    assert "Figures were off for this run (figures=none)." in text
    assert page_data(text)["stages"][0]["shape"] == [3, 7, 7]


def test_the_chinese_page_describes_every_stage_in_chinese(tmp_path):
    overrides = ["figures=none", "print_matrices=false", "figures.lang=zh"]
    run_experiment(compose_config([*overrides, "conv.padding=1", "conv.bias=0.5"]), tmp_path)
    text, _ = read_page(tmp_path / "report.html")
    assert "3 个卷积核 3×3，步长 1，填充 1（zeros）；每个格子 = Σ(窗口 × 卷积核) / 9 + 偏置" in text
    assert "每个 2×2 窗口取最大值，步长 2，补零：右 1，下 1" in text
    assert "relu：每个格子 = max(x, 0)" in text
    for english in ("kernels", "stride", "window", "zeros added", "on every cell"):
        assert english not in text.split("<h2>")[0], english  # the stage list, before the explorer


def test_a_run_too_large_for_the_page_says_so(tmp_path, monkeypatch):
    import xopipe.html.report

    monkeypatch.setattr(xopipe.html.report, "MAX_CELLS", 1000)
    overrides = ["figures=none", "print_matrices=false", "input=random", "input.shape=[40,40]"]
    run_experiment(compose_config(overrides), tmp_path)
    text, _ = read_page(tmp_path / "report.html")
    assert "This run has 11,347 cells, more than the page holds (1,000)" in text
    assert "<script" not in text


def test_config_strings_are_text_never_markup(tmp_path):
    hostile = 'x"><img src=x onerror=alert(1)><script>alert(2)</script>'
    run_experiment(compose_config([*["figures=none", "print_matrices=false"]]), tmp_path, [hostile])
    text, page = read_page(tmp_path / "report.html")
    assert hostile not in text and "<img" not in text
    assert "x&#34;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;" in text


@pytest.mark.parametrize(("fmt", "mime"), [("pdf", "image/png"), ("svg", "image/svg+xml")])
def test_report_shows_pdf_runs_as_png_and_svg_as_svg(tmp_path, fmt, mime):
    run_experiment(compose_config([f"figures={fmt}", "print_matrices=false"]), tmp_path)
    _, page = read_page(tmp_path / "report.html")
    assert len(page.sources) == 6
    assert all(src.startswith(f"data:{mime};base64,") for src in page.sources)


def test_the_seed_page_stays_under_2_mb(tmp_path):
    run_experiment(compose_config(["print_matrices=false"]), tmp_path)
    size = (tmp_path / "report.html").stat().st_size
    assert 100_000 < size < 2_000_000  # figures included
