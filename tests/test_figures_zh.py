"""Chinese titles (figures.lang=zh): a CJK font with no missing glyph, or English without one."""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path

import pytest

from tests.figure_runs import SEED_FIGURES, figure_for, run
from xopipe.errors import UserError
from xopipe.figures import draw, fonts
from xopipe.figures.labels import word
from xopipe.figures.layout import Style


def _render_all(out: Path, *overrides: str) -> list[str]:
    """Run with figures on; the warnings matplotlib raised while drawing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(out, *overrides)
    return [str(w.message) for w in caught]


def _texts(figure) -> str:
    return "\n".join(t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text")))


@pytest.mark.needs("zh font")
def test_zh_titles_render_with_a_cjk_font_and_no_missing_glyph(tmp_path):
    font = fonts.system_font()
    if font is None:
        message = "no CJK font installed (.ci/run installs fonts-wqy-microhei)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert fonts.covers_titles(font)
    caught = _render_all(tmp_path, "figures.lang=zh", "explain=conv:0:1:2", "figures.animate=true")
    assert not [m for m in caught if "missing from font" in m], caught
    lang, rc = fonts.font_rc("zh", None)
    assert lang == "zh" and rc["font.sans-serif"][0] != "DejaVu Sans"  # type: ignore[index]
    experiment, arrays = figure_for()
    import matplotlib

    with matplotlib.rc_context(rc):  # type: ignore[arg-type]
        figure = draw.overview_figure(experiment, arrays, Style("zh", "RdBu_r", True))
        figure.savefig(io.BytesIO(), format="png")
    text = _texts(figure)
    for title in ("原图", "卷积核", "卷积后的特征图", "池化后的特征图", "激活后的特征图"):
        assert title in text
    # Also in SVG and PDF (glyphs as paths / embedded font subsets).
    caught = _render_all(tmp_path / "pdf", "figures.lang=zh", "figures=pdf")
    assert not [m for m in caught if "missing from font" in m], caught


def test_the_missing_glyph_check_can_fail():
    """Without a CJK font matplotlib does warn: the test above would notice boxes."""
    from matplotlib.figure import Figure

    figure = Figure()
    figure.text(0.5, 0.5, word("zh", "conv"), family="DejaVu Sans")  # 卷积后的特征图
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(io.BytesIO(), format="png")
    assert any("missing from font" in str(w.message) for w in caught)


def test_zh_without_a_cjk_font_falls_back_to_english_with_one_warning(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(fonts, "system_font", lambda: None)
    with caplog.at_level(logging.WARNING):
        caught = _render_all(tmp_path, "figures.lang=zh")
    warned = [r for r in caplog.records if "no font with Chinese glyphs" in r.getMessage()]
    assert len(warned) == 1
    assert "fonts-wqy-microhei" in warned[0].getMessage()
    assert not [m for m in caught if "missing from font" in m], caught
    assert fonts.font_rc("zh", None)[0] == "en"
    assert len(list((tmp_path / "figures").iterdir())) == len(SEED_FIGURES)


def test_figures_font_must_be_a_font_with_chinese_glyphs(tmp_path):
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_text("not a font")
    with pytest.raises(UserError, match="figures.font must be a font file"):
        run(tmp_path / "run", "figures.lang=zh", f"figures.font={not_a_font}")
    assert not (tmp_path / "run" / "matrices.parquet").exists()
