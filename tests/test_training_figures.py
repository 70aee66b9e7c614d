"""A training run's figures hold what the run's tables say: the curves are history.parquet, the
kernels by epoch are weights_history.parquet, the confusion matrix counts predictions.parquet;
every file is in the manifest; zh titles; figures=none draws none; a bad setting stops first."""

from __future__ import annotations

import hashlib
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import xopipe
from xopipe.errors import UserError
from xopipe.figures import fonts
from xopipe.figures.layout import Style
from xopipe.figures.training_figures import (
    confusion_figure,
    curves_figure,
    kernels_by_epoch_figure,
    learned_figure,
)
from xopipe.figures.training_story import shown_epochs
from xopipe.training.outputs import training_story

SMALL = ["data.n_train=40", "data.n_test=20", "train.epochs=4", "train.batch_size=8"]
FIGURES = [
    "confusion.png",
    "curves.png",
    "kernels.gif",
    "kernels_by_epoch_conv.png",
    "learned_kernels.png",
]
EN = Style("en", "RdBu_r", True)
# conf/kernels/xo.yaml: the seed's diagonal, cross and other diagonal
SEED = np.array(
    [
        [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]],
        [[1, -1, 1], [-1, 1, -1], [1, -1, 1]],
        [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]],
    ],
    dtype=np.float64,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train")
    result = xopipe.train(*SMALL, out_dir=out)
    training = result.training
    story = training_story(
        training.model, training.data, training.trained.epochs, training.trained.probabilities
    )
    return out, story


def _panels(figure):
    """{title: grid} of every panel (an Axes showing an image, colour bars left out)."""
    return {
        ax.get_title(): np.asarray(ax.images[0].get_array().data)
        for ax in figure.axes
        if ax.images and ax.get_title()
    }


def _kernel(table: pd.DataFrame, epoch: int, kernel: int) -> np.ndarray:
    rows = table[
        (table.stage == "conv")
        & (table.param == "weight")
        & (table.epoch == epoch)
        & (table.kernel == kernel)
    ].sort_values(["channel", "row", "col"])
    return rows.value.to_numpy().reshape(3, 3)


def test_every_figure_is_written_and_listed_in_the_manifest(trained):
    out, _ = trained
    assert sorted(p.name for p in (out / "figures").iterdir()) == FIGURES
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    for name in [*(f"figures/{f}" for f in FIGURES), "report.html"]:
        assert manifest["files"][name] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    with Image.open(out / "figures" / "kernels.gif") as gif:
        assert gif.n_frames == 5  # epochs 0..4
        frames = []
        for number in (0, 4):
            gif.seek(number)
            frames.append(np.asarray(gif.convert("RGB"), dtype=np.int16))
    assert np.abs(frames[0] - frames[1]).sum() > 0  # the kernels moved


def test_the_curves_are_the_history(trained):
    out, story = trained
    history = pd.read_parquet(out / "history.parquet")
    figure = curves_figure(story, EN)
    loss_ax, accuracy_ax = figure.axes
    assert [ax.get_title() for ax in figure.axes] == ["loss (cross-entropy)", "accuracy"]
    for ax, column in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
        assert [line.get_label() for line in ax.lines] == ["train", "test"]
        for line in ax.lines:
            split = history[history.split == line.get_label()].sort_values("epoch")
            assert np.array_equal(line.get_xdata(), split.epoch.to_numpy())
            assert np.array_equal(line.get_ydata(), split[column].to_numpy())


def test_the_kernels_by_epoch_are_the_weights_history_on_one_scale(trained):
    out, story = trained
    table = pd.read_parquet(out / "weights_history.parquet")
    figure = kernels_by_epoch_figure(story, "conv", EN)
    panels = _panels(figure)
    assert len(panels) == 5 * 3  # epochs down, kernels across
    for title, grid in panels.items():
        epoch, kernel = map(int, re.fullmatch(r"epoch (\d+) · kernel (\d+)", title).groups())
        assert np.array_equal(grid, _kernel(table, epoch, kernel)), title
    reach = np.abs(table[(table.stage == "conv") & (table.param == "weight")].value).max()
    norms = {(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for ax in figure.axes if ax.images}
    assert norms == {(-reach, reach)}  # one colour scale, centred on 0
    assert shown_epochs(21, 11) == list(range(0, 21, 2))  # a long run: first, every 2nd, last
    assert shown_epochs(5, 11) == [0, 1, 2, 3, 4]


def test_the_learned_kernels_stand_beside_the_seeds(trained):
    out, story = trained
    final = pd.read_parquet(out / "weights.parquet").assign(epoch=4)
    table = pd.read_parquet(out / "weights_history.parquet")
    figure = learned_figure(story, EN)
    axes = [ax for ax in figure.axes if ax.images and ax.get_title()]
    grids = [np.asarray(ax.images[0].get_array().data) for ax in axes]
    assert len(grids) == 9  # the seed's three, the start's three, the learned three
    for k in range(3):
        assert np.array_equal(grids[k], SEED[k])
        assert np.array_equal(grids[3 + k], _kernel(table, 0, k))
        assert np.array_equal(grids[6 + k], _kernel(final, 4, k))
    text = "\n".join(t.get_text() for t in figure.texts)
    assert "the seed's hand-made kernels (conf/kernels/xo.yaml)" in text
    assert "learned: conv, epoch 4" in text and "most like the seed's: kernel 0 ≈ " in text


def test_the_confusion_matrix_counts_the_predictions(trained):
    out, story = trained
    predictions = pd.read_parquet(out / "predictions.parquet")
    counts = pd.crosstab(predictions.label, predictions.predicted).reindex(
        index=["o", "x"], columns=["o", "x"], fill_value=0
    )
    figure = confusion_figure(story, EN)
    ax = figure.axes[0]
    assert np.array_equal(ax.images[0].get_array(), counts.to_numpy())
    assert [t.get_text() for t in ax.texts] == [str(n) for n in counts.to_numpy().ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["o", "x"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    correct = int(np.trace(counts.to_numpy()))
    assert f"correct {correct} / 20" in figure.texts[0].get_text()


@pytest.mark.needs("zh font")
def test_zh_titles(tmp_path):
    if fonts.system_font() is None:
        pytest.skip("no CJK font installed (.ci/run installs fonts-wqy-microhei)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = xopipe.train(*SMALL, "figures.lang=zh", out_dir=tmp_path)
    assert not [w for w in caught if "missing from font" in str(w.message)]
    training = result.training
    story = training_story(
        training.model, training.data, training.trained.epochs, training.trained.probabilities
    )
    zh = Style("zh", "RdBu_r", True)
    texts = []
    for figure in (
        curves_figure(story, zh),
        kernels_by_epoch_figure(story, "conv", zh),
        learned_figure(story, zh),
        confusion_figure(story, zh),
    ):
        found = figure.findobj(lambda artist: hasattr(artist, "get_text"))
        texts.append("\n".join(t.get_text() for t in found))
    assert "损失（交叉熵）" in texts[0] and "准确率" in texts[0] and "训练集" in texts[0]
    assert "各轮次的卷积核" in texts[1] and "轮次 4 · 卷积核 2" in texts[1]
    assert "原程序手工设计的卷积核" in texts[2] and "学到的卷积核" in texts[2]
    assert "混淆矩阵（测试集）" in texts[3] and "预测类别" in texts[3]


def test_figures_none_draws_none_and_a_bad_setting_stops_before_training(tmp_path):
    xopipe.train(*SMALL, "figures=none", out_dir=tmp_path / "none")
    assert not (tmp_path / "none" / "figures").exists()
    manifest = json.loads((tmp_path / "none" / "manifest.json").read_text())
    assert "report.html" in manifest["files"]
    assert not any(name.startswith("figures/") for name in manifest["files"])
    with pytest.raises(UserError, match="^figures.cmap must be a matplotlib colormap name"):
        xopipe.train(*SMALL, "figures.cmap=nope", out_dir=tmp_path / "bad")
    assert not (tmp_path / "bad" / "history.parquet").exists()
