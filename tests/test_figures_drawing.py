"""Drawing, in process: the overview's rows, numbers in small maps, colour scales, cell text."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PathCollection

from tests.figure_runs import figure_for
from xopipe.figures import draw, maps
from xopipe.figures.layout import MAX_WIDTH, Style


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
