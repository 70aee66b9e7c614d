"""xopipe.diff.report: diff_report.md and .html."""

from __future__ import annotations

import base64
import re

from tests.finished_runs import png_size_and_pixels
from xopipe.multirun.finish import finish_sweep


def test_report_html_is_self_contained_with_heatmaps(sweep):
    finish_sweep(sweep)
    page = (sweep / "diff_report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2  # pool channel 1 of the two pairs with torch
    width, height, _ = png_size_and_pixels(base64.b64decode(images[0]))
    assert (width, height) == (2, 2)
