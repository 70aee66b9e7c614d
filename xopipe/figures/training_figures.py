"""A training run's figures: loss and accuracy by epoch, the kernels by epoch, the learned
kernels beside the seed's hand-made ones, and the test split's confusion matrix.

Each draws a TrainingStory (training_story.py), so a figure shows exactly the
numbers of history.parquet, weights_history.parquet and predictions.parquet.
Kernels are drawn as every map is (maps.py: blocks of heatmaps with their
values), on a colour scale centred on 0 whatever figures.cmap is: a weight's
sign is what it means.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from xopipe.figures.labels import word
from xopipe.figures.layout import DPI, Block, Panel, Style
from xopipe.figures.maps import colormap, draw_blocks
from xopipe.figures.training_story import TrainingStory, closest_seed, shown_epochs
from xopipe.ops.text import shape_text

COLOURS = {"train": "#2166ac", "test": "#b2182b"}  # the ends of RdBu
MAX_EPOCH_ROWS = 11  # epochs drawn in the kernels-by-epoch grid (all are in the table)
MAX_ACROSS = 12  # kernel channels drawn per epoch
KERNEL_SIDE = 1.25  # inches for a small kernel: room for its nine values
MARKERS_UP_TO = 40  # epochs: a dot per epoch on the curves up to this many


def kernel_label(lang: str, kernel: int, channel: int, depth: int) -> str:
    text = f"{word(lang, 'kernel')} {kernel}"
    return text + (f" · {word(lang, 'channel')} {channel}" if depth > 1 else "")


def curves_figure(story: TrainingStory, style: Style) -> Figure:
    """Loss (left) and accuracy (right) of each split, one point per epoch."""
    lang = style.lang
    fig = Figure(figsize=(10.5, 4.2), dpi=DPI)
    loss_ax = fig.add_axes((0.07, 0.13, 0.39, 0.68))
    accuracy_ax = fig.add_axes((0.58, 0.13, 0.39, 0.68))
    marker = "o" if len(story.epochs) <= MARKERS_UP_TO else None
    for split, (loss, accuracy) in story.scores.items():
        for ax, values in ((loss_ax, loss), (accuracy_ax, accuracy)):
            ax.plot(
                story.epochs,
                values,
                label=word(lang, split),
                color=COLOURS.get(split),
                marker=marker,
                markersize=3.5,
                linewidth=1.6,
            )
    if all((loss > 0).all() for loss, _ in story.scores.values()):
        loss_ax.set_yscale("log")  # from ln(classes) down to a few thousandths
    for ax, key in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
        ax.set_title(word(lang, key), fontsize=11)
        ax.set_xlabel(word(lang, "epoch"))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    test_loss, test_accuracy = (values[-1] for values in story.scores["test"])
    title = (
        f"{word(lang, 'curves')}: {' / '.join(story.classes)} · {word(lang, 'epoch')} "
        f"{story.last}, {word(lang, 'test')} {word(lang, 'loss')} {test_loss:.4f}, "
        f"{word(lang, 'accuracy')} {test_accuracy:.3f}"
    )
    fig.text(0.5, 0.97, title, ha="center", va="top", fontsize=12)
    return fig


def kernels_by_epoch_figure(story: TrainingStory, stage: str, style: Style) -> Figure:
    """Epochs down, kernels across, one colour scale (centred on 0) for every epoch."""
    lang = style.lang
    weights = story.kernels[stage]
    count, kernels, depth = weights.shape[:3]
    pairs = [(k, c) for k in range(kernels) for c in range(depth)][:MAX_ACROSS]
    rows = shown_epochs(count, MAX_EPOCH_ROWS)
    panels = [
        Panel(
            weights[e, k, c],
            f"{word(lang, 'epoch')} {story.epochs[e]} · {kernel_label(lang, k, c, depth)}",
        )
        for e in rows
        for k, c in pairs
    ]
    title = (
        f"{word(lang, 'kernels by epoch')} ({stage}) [{shape_text(weights.shape[1:])}]: "
        f"{word(lang, 'one scale')}"
    )
    if len(rows) < count:
        title += f"\n{word(lang, 'epochs shown')}: {len(rows)} / {count} (weights_history.parquet)"
    block = Block(title, panels, False, side=KERNEL_SIDE, across=len(pairs), scale_from=[weights])
    return draw_blocks([block], "", replace(style, centred=True))


def learned_figure(story: TrainingStory, style: Style) -> Figure:
    """The first stage's kernels at the start and at the end, under the seed's hand-made
    ones; each learned kernel names the seed kernel it is most like, with their cosine."""
    lang = style.lang
    stage = story.first_stage
    weights = story.kernels[stage]
    seeds = story.seed_kernels
    depth = weights.shape[2]
    comparable = depth == 1 and weights.shape[3:] == seeds.shape[1:]

    def panels(at: int) -> list[Panel]:
        return [
            Panel(weights[at, k, c], kernel_label(lang, k, c, depth))
            for k in range(weights.shape[1])
            for c in range(depth)
        ][:MAX_ACROSS]

    def block(title: str, shown: list[Panel]) -> Block:
        return Block(title, shown, False, side=KERNEL_SIDE, across=len(shown))

    learned = f"{word(lang, 'learned')}: {stage}, {word(lang, 'epoch')} {story.last}"
    if comparable:
        found = [closest_seed(weights[-1, k, 0], seeds) for k in range(weights.shape[1])]
        learned += (
            "\n"
            + f"{word(lang, 'like')}: "
            + ", ".join(
                f"{word(lang, 'kernel')} {k} ≈ {seed} (cos {cos:+.2f})"
                for k, (seed, cos) in enumerate(found)
            )
        )
    seed_panels = [Panel(seeds[k], f"{word(lang, 'kernel')} {k}") for k in range(len(seeds))]
    epoch = word(lang, "epoch")
    blocks = [
        block(
            f"{word(lang, 'seed kernels')} (conf/kernels/xo.yaml) [{shape_text(seeds.shape)}]",
            seed_panels,
        ),
        block(f"{word(lang, 'start')}: {stage}, {epoch} {story.epochs[0]}", panels(0)),
        block(learned, panels(-1)),
    ]
    title = f"{word(lang, 'learned kernels')} · {word(lang, 'seed kernels')}"
    return draw_blocks(blocks, title, replace(style, centred=True))


def confusion_figure(story: TrainingStory, style: Style) -> Figure:
    """Test images counted by true class (rows) and predicted class (columns)."""
    lang = style.lang
    counts = story.confusion()
    size = len(story.classes)
    side = max(2.2, 0.75 * size)
    left, bottom, top, right = 1.3, 0.75, 0.8, 1.0
    width, height = max(left + side + right, 5.2), bottom + side + top
    fig = Figure(figsize=(width, height), dpi=DPI)
    ax = fig.add_axes((left / width, bottom / height, side / width, side / height))
    bar = fig.add_axes(((left + side + 0.15) / width, bottom / height, 0.14 / width, side / height))
    # Counts are never negative: a diverging map's upper half, white at 0.
    full = colormap(style)
    cmap = ListedColormap(full(np.linspace(0.5, 1.0, 128))) if style.centred else full
    norm = Normalize(0, max(int(counts.max()), 1))
    image = ax.imshow(counts, cmap=cmap, norm=norm)
    shade = cmap(norm(counts))[..., :3] @ np.array([0.299, 0.587, 0.114])
    for (i, j), value in np.ndenumerate(counts):
        colour = "white" if shade[i, j] < 0.5 else "black"
        ax.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=11)
    ax.set_xticks(range(size), story.classes)
    ax.set_yticks(range(size), story.classes)
    ax.set_xlabel(word(lang, "predicted"))
    ax.set_ylabel(word(lang, "true"))
    fig.colorbar(image, cax=bar).ax.tick_params(labelsize=7.5)
    correct, total = int(np.trace(counts)), int(counts.sum())
    title = (
        f"{word(lang, 'confusion')}\n{word(lang, 'correct')} {correct} / {total} "
        f"({correct / max(total, 1):.1%}), {word(lang, 'epoch')} {story.last}"
    )
    fig.text(0.5, 1 - 0.08 / height, title, ha="center", va="top", fontsize=11.5)
    return fig
