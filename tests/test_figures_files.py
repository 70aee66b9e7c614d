"""Figure files: one per step of the pipeline and an overview, in every format, readable.

Files exist for each stage and format and decode as images of the size the
layout promised; they change when the data change (no blank or constant
images); figures=none draws nothing; bad figure settings stop before any work.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.figure_runs import SEED_FIGURES, run
from xopipe.errors import UserError


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


# The seed's figures in pixels at 110 dpi, as this layout draws them (recorded from
# the files, not from the drawing code): a layout change updates them on purpose.
SEED_PNG_SIZES = {
    "00_input": (563, 523),
    "01_kernels_conv": (800, 294),
    "02_conv": (1210, 457),
    "03_pool": (800, 321),
    "04_activation": (1210, 457),
    "overview": (1129, 1944),
}


def test_pngs_have_the_size_the_layout_promised(seed_run):
    for stem, size in SEED_PNG_SIZES.items():
        with Image.open(seed_run / "figures" / f"{stem}.png") as image:
            assert image.format == "PNG"
            assert image.size == size, stem
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
    # 7.28 x 2.92 inches in points, recorded like SEED_PNG_SIZES (the seed's 03_pool.png
    # has the same shape of map: 800 x 321 px at 110 dpi)
    width, height = 524.16, 210.24
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
