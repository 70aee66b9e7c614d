"""Figures: one file per step of the pipeline and an overview, readable and honest.

Files exist for each stage and format and decode as images of the size the
layout promised; they change when the data change (no blank or constant
images); the overview has one row per step; Chinese titles render with a
real CJK font (no missing glyphs) and fall back to English without one.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from PIL import Image

from tests.conftest import compose_config
from xopipe.backends import get_backend
from xopipe.errors import UserError
from xopipe.experiment import build_experiment, execute
from xopipe.figures import draw, fonts, maps
from xopipe.figures.labels import WORDS
from xopipe.figures.layout import DPI, MAX_WIDTH, Style
from xopipe.runner import run_experiment

SEED_FIGURES = [
    "00_input",
    "01_kernels_conv",
    "02_conv",
    "03_pool",
    "04_activation",
    "overview",
]


def run(out_dir: Path, *overrides: str):
    return run_experiment(compose_config(["print_matrices=false", *overrides]), out_dir)


def figure_for(*overrides: str):
    cfg = compose_config(list(overrides))
    experiment = build_experiment(cfg)
    return experiment, execute(experiment, get_backend("numpy")).arrays


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seed") / "run"
    run(out)
    return out


def test_every_run_draws_input_kernels_stages_and_overview(seed_run):
    names = sorted(p.stem for p in (seed_run / "figures").iterdir())
    assert names == sorted(SEED_FIGURES)
    manifest = json.loads((seed_run / "manifest.json").read_text())
    listed = {name for name in manifest["files"] if name.startswith("figures/")}
    assert listed == {f"figures/{stem}.png" for stem in SEED_FIGURES}
    assert "matplotlib" in manifest["versions"]


def test_pngs_have_the_size_the_layout_promised(seed_run):
    experiment, arrays = figure_for()
    style = Style("en", "RdBu_r", True)
    expected = {
        "00_input": draw.input_figure(experiment, style),
        "02_conv": draw.stage_figure(experiment, "conv", arrays["conv"], style),
        "overview": draw.overview_figure(experiment, arrays, style),
    }
    for stem, figure in expected.items():
        width, height = (figure.get_size_inches() * DPI).round().astype(int)
        with Image.open(seed_run / "figures" / f"{stem}.png") as image:
            assert image.format == "PNG"
            assert abs(image.size[0] - width) <= 1 and abs(image.size[1] - height) <= 1
    # Three 7x7 channels side by side: wider than tall; the overview is a tall column.
    with Image.open(seed_run / "figures" / "02_conv.png") as conv:
        assert conv.size[0] > 2 * conv.size[1]
    with Image.open(seed_run / "figures" / "overview.png") as overview:
        assert overview.size[1] > 1.5 * overview.size[0]


def test_figures_are_not_blank_and_change_with_the_data(seed_run, tmp_path):
    run(tmp_path / "o", "input=o")
    for stem in SEED_FIGURES:
        x_image = pixels(seed_run / "figures" / f"{stem}.png")
        assert x_image.std() > 20, stem  # far from one flat colour
        assert len(np.unique(x_image.reshape(-1, 3), axis=0)) > 50, stem
        if stem != "01_kernels_conv":  # the same kernels read the X and the O
            o_image = pixels(tmp_path / "o" / "figures" / f"{stem}.png")
            assert x_image.shape != o_image.shape or np.abs(x_image - o_image).mean() > 1, stem


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_vector_formats_decode_at_the_promised_size(tmp_path, fmt):
    run(tmp_path, f"figures={fmt}", "pipeline=classic")
    stems = sorted(p.stem for p in (tmp_path / "figures").iterdir())
    assert stems == [
        "00_input",
        "01_kernels_conv",
        "02_conv",
        "03_activation",
        "04_pool",
        "overview",
    ]
    experiment, arrays = figure_for("pipeline=classic")
    figure = draw.stage_figure(experiment, "pool", arrays["pool"], Style("en", "RdBu_r", True))
    width, height = figure.get_size_inches() * 72  # points
    data = (tmp_path / "figures" / f"04_pool.{fmt}").read_bytes()
    if fmt == "svg":
        root = ET.fromstring(data)
        assert float(root.get("width", "").removesuffix("pt")) == pytest.approx(width, abs=0.5)
        assert float(root.get("height", "").removesuffix("pt")) == pytest.approx(height, abs=0.5)
        assert b"<dc:date>" not in data  # no date: reruns write the same bytes
    else:
        assert data.startswith(b"%PDF-")
        box = re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", data)
        assert box is not None
        assert float(box[1]) == pytest.approx(width, abs=0.5)
        assert float(box[2]) == pytest.approx(height, abs=0.5)
    assert (tmp_path / "figures" / "04_pool.png").exists() is False


def test_figures_none_writes_no_figure_and_never_imports_matplotlib(tmp_path):
    script = (
        "import sys\n"
        "from tests.conftest import compose_config\n"
        "from xopipe.runner import run_experiment\n"
        "from pathlib import Path\n"
        "cfg = compose_config(['figures=none', 'print_matrices=false', 'explain=pool:1:2:3'])\n"
        f"run_experiment(cfg, Path({str(tmp_path / 'run')!r}))\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    root = Path(__file__).parent.parent
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "explain pool[1, 2, 3]" in result.stdout  # explain still prints
    assert not (tmp_path / "run" / "figures").exists()
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert not any(name.startswith("figures/") for name in manifest["files"])
    assert "report.html" in manifest["files"]


def test_overview_has_one_row_per_step_in_pipeline_order():
    for pipeline, stages in [
        ("seed", ["conv", "pool", "activation"]),
        ("classic", ["conv", "activation", "pool"]),
        ("two_layer", ["conv", "activation", "pool", "conv2", "activation2", "pool2"]),
    ]:
        experiment, arrays = figure_for(f"pipeline={pipeline}")
        rows = draw.overview_rows(experiment)
        expected = [("input", "input")]
        for name in stages:
            if experiment.stages[name].spec.op == "conv":
                expected.append(("kernels", name))
            expected.append(("stage", name))
        assert rows == expected
        blocks = draw.overview_blocks(experiment, arrays, Style("en", "RdBu_r", True))
        assert len(blocks) == len(rows)
        for (kind, name), block in zip(rows, blocks, strict=True):
            if kind == "stage":
                assert f": {name} [" in block.title
                shown = min(arrays[name].shape[0], draw.OVERVIEW_COLUMNS)
                assert len(block.panels) == shown
        figure = draw.overview_figure(experiment, arrays, Style("en", "RdBu_r", True))
        panels = sum(len(b.panels) for b in blocks)
        assert len(figure.axes) == panels + len(blocks)  # every panel, one colour bar per row


def test_small_maps_carry_their_numbers_and_large_maps_do_not():
    experiment, arrays = figure_for()
    style = Style("en", "RdBu_r", True)
    figure = draw.stage_figure(experiment, "conv", arrays["conv"], style)
    first = figure.axes[0]
    collections = [c for c in first.collections if isinstance(c, PathCollection)]
    numbers = [c for c in collections if c.get_clip_on()]  # in the cells
    indices = [c for c in collections if not c.get_clip_on()]  # row and column numbers
    assert sum(len(c.get_offsets()) for c in numbers) == 49  # every cell of the 7x7 map
    assert sum(len(c.get_offsets()) for c in indices) == 7 + 7
    offsets = np.concatenate([c.get_offsets() for c in numbers])
    assert {tuple(o) for o in offsets.tolist()} == {(j, i) for i in range(7) for j in range(7)}

    experiment, arrays = figure_for("input=random", "input.shape=[64,64]")
    figure = draw.stage_figure(experiment, "conv", arrays["conv"], style)
    assert not any(isinstance(c, PathCollection) for ax in figure.axes for c in ax.collections)
    assert figure.get_size_inches()[0] <= MAX_WIDTH + 0.01


def test_diverging_scale_is_centred_on_zero_and_gray_spans_the_data():
    experiment, arrays = figure_for("pipeline=classic")
    relu = arrays["activation"]
    centred = maps.colour_scale([relu[0]], centred=True)
    assert centred.vmin == -centred.vmax == -relu[0].max()
    plain = maps.colour_scale([relu[0]], centred=False)
    assert (plain.vmin, plain.vmax) == (relu[0].min(), relu[0].max())


def test_cell_text_has_two_decimals_and_no_negative_zero():
    from xopipe.figures.labels import cell_text

    assert cell_text(7 / 9) == "0.78"
    assert cell_text(-1 / 9) == "−0.11"
    assert cell_text(-0.001) == "0.00"
    assert cell_text(float("-inf")) == "−∞"


def test_unknown_colormap_or_language_stops_before_any_work(tmp_path):
    with pytest.raises(UserError, match="figures.cmap must be a matplotlib colormap"):
        run(tmp_path / "a", "figures.cmap=notacolormap")
    with pytest.raises(UserError, match="figures.lang must be one of en, zh"):
        run(tmp_path / "b", "figures.lang=fr")
    with pytest.raises(UserError, match="figures.format must be one of png, svg, pdf, none"):
        run(tmp_path / "c", "figures.format=jpg")
    for name in "abc":
        assert not (tmp_path / name / "matrices.parquet").exists()


def test_gray_matches_the_seed(tmp_path):
    run(tmp_path, "figures.cmap=gray")
    image = pixels(tmp_path / "figures" / "00_input.png")
    # grey panels: most pixels have equal red, green and blue
    grey = (image[..., 0] == image[..., 1]) & (image[..., 1] == image[..., 2])
    assert grey.mean() > 0.95


def test_animation_slides_the_window_frame_by_frame(tmp_path):
    run(tmp_path, "figures.animate=true")
    for stage, cells in [("conv", 49), ("pool", 16)]:
        path = tmp_path / "figures" / f"slide_{stage}.gif"
        with Image.open(path) as gif:
            assert gif.format == "GIF" and gif.n_frames == cells
            gif.seek(0)
            first = np.asarray(gif.convert("RGB"), dtype=np.int16)
            gif.seek(cells // 2)
            middle = np.asarray(gif.convert("RGB"), dtype=np.int16)
            gif.seek(cells - 1)
            last = np.asarray(gif.convert("RGB"), dtype=np.int16)
        assert np.abs(first - middle).sum() > 0 and np.abs(middle - last).sum() > 0
    assert not (tmp_path / "figures" / "slide_activation.gif").exists()


def test_no_animation_for_large_inputs(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="xopipe.figures.render"):
        run(tmp_path, "figures.animate=true", "input=random", "input.shape=[64,64]")
    assert not list((tmp_path / "figures").glob("*.gif"))
    assert "no animation for conv" in caplog.text


# --- Chinese titles -------------------------------------------------------------------


def _render_all(out: Path, *overrides: str) -> list[str]:
    """Run with figures on; the warnings matplotlib raised while drawing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(out, *overrides)
    return [str(w.message) for w in caught]


def _texts(figure) -> str:
    return "\n".join(t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text")))


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
    figure.text(0.5, 0.5, WORDS["zh"]["conv"], family="DejaVu Sans")
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
