"""xopipe.diff.heatmap: difference maps as small PNG images."""

from __future__ import annotations

import numpy as np

from tests.finished_runs import png_size_and_pixels
from xopipe.diff.heatmap import heatmap_png, reduce_blocks


def test_heatmap_keeps_a_single_cell_of_a_large_grid_visible():
    grid = np.zeros((1000, 600))
    grid[517, 3] = 2.0
    reduced = reduce_blocks(grid, max_side=100)
    assert reduced.shape == (100, 60) and reduced[51, 0] == 2.0 and reduced.sum() == 2.0
    width, height, pixels = png_size_and_pixels(heatmap_png(grid, max_side=100))
    assert (width, height) == (60, 100)
    assert tuple(pixels[0, 0]) == (255, 255, 255)  # agreeing cells are white
    assert tuple(pixels[51, 0]) != (255, 255, 255)
