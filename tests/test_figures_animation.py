"""figures.animate: a GIF per sliding-window stage, frame by frame; none for large inputs."""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image

from tests.figure_runs import run


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
