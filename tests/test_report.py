"""report.html: self-contained, with the figures, the tables, the config and the files."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import compose_config
from xopipe.run import run_experiment


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
        if tag not in ("img", "meta", "br"):
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
    assert not re.search(r"https?://|url\(|<script|@import", text)


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


def test_report_tables_hold_the_numbers(seed_report):
    text, page = read_page(seed_report / "report.html")
    # input 9x9, kernels 3 x 3x3, conv/pool/activation 3 channels each
    assert len(page.cells) == 81 + 27 + 3 * 49 + 3 * 16 + 3 * 49
    assert page.cells[81 + 27 : 81 + 27 + 7] == [
        "0.78",
        "−0.11",
        "0.11",
        "0.33",
        "0.56",
        "−0.11",
        "0.33",
    ]
    assert 'title="0.7777777777777778"' in text  # the exact value on hover
    assert "<caption>kernel 2</caption>" in text and "<caption>pool, channel 1</caption>" in text


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


def test_report_without_figures_still_has_tables(tmp_path):
    run_experiment(compose_config(["figures=none", "print_matrices=false"]), tmp_path)
    text, page = read_page(tmp_path / "report.html")
    assert page.sources == []
    assert "Figures were off for this run (figures=none)." in text
    assert "0.78" in page.cells


def test_large_maps_are_summarized_not_tabulated(tmp_path):
    overrides = ["figures=none", "print_matrices=false", "input=random", "input.shape=[40,40]"]
    run_experiment(compose_config(overrides), tmp_path)
    text, page = read_page(tmp_path / "report.html")
    assert len(page.cells) == 27  # only the kernels
    assert "38×38 per channel is too large for a table" in text
    assert "matrices/conv_&lt;channel&gt;.csv" in text


@pytest.mark.parametrize(("fmt", "mime"), [("pdf", "image/png"), ("svg", "image/svg+xml")])
def test_report_shows_pdf_runs_as_png_and_svg_as_svg(tmp_path, fmt, mime):
    run_experiment(compose_config([f"figures={fmt}", "print_matrices=false"]), tmp_path)
    _, page = read_page(tmp_path / "report.html")
    assert len(page.sources) == 6
    assert all(src.startswith(f"data:{mime};base64,") for src in page.sources)
