"""xopipe.diff.report: diff_report.md and .html."""

from __future__ import annotations

import base64
import re

from tests.conftest import SWEEP_VERDICT
from tests.finished_runs import png_size_and_pixels
from xopipe.sweep_end import finish_sweep


def test_report_html_is_self_contained_with_heatmaps(sweep):
    finish_sweep(sweep)
    page = (sweep / "diff_report.html").read_text()
    assert page.lower().startswith("<!doctype html>")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2  # pool channel 1 of the two pairs with torch
    width, height, _ = png_size_and_pixels(base64.b64decode(images[0]))
    assert (width, height) == (2, 2)


def test_report_html_comes_from_the_shared_template_and_stylesheet(sweep):
    from xopipe.html import asset

    finish_sweep(sweep)
    page = (sweep / "diff_report.html").read_text()
    assert f'<p class="verdict differ">{SWEEP_VERDICT}</p>' in page
    assert asset("style.css") in page  # the one stylesheet, inlined as in report.html
    assert "<th>max abs diff</th>" in page and "<td>pool</td>" in page
    # text from the runs is escaped, never markup
    assert "backend=loop conv.stride=0" in page and "<script" not in page
