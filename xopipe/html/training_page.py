"""report.html of a training run: the run page's explorer under an epoch slider and a choice
of test image.

The page carries every epoch's weights (weights_history.parquet's numbers, packed
in the run's dtype) and the test images, and recomputes the chosen image's
pipeline at the chosen epoch with the run page's own engine (engine_*.js), so
every cell keeps that page's contract (data-stage, -channel, -row, -col; a
click explains it). Maps precomputed per epoch would cost epochs × test images
× every stage's cells; the weights are a few dozen numbers an epoch. The page
opens on the last epoch and the first test image with the values xopipe
computed (NumPy backend), as a run's page opens on the run's own values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xopipe.experiment import Experiment
from xopipe.figures.training_story import SPLITS, TrainingStory
from xopipe.html import render
from xopipe.html.explorer import packed
from xopipe.html.report import figure_entries, report_context
from xopipe.html.training_words import PAGE, TRAINING
from xopipe.sinks.files import sha256_of, write_text

TRAINING_SCRIPTS = ["training_epochs.js"]  # after the explorer's own (explorer.page_scripts)
MAX_IMAGE_CELLS = 1024 * 1024  # test images' pixels the page carries, all together


def build_training_page(
    experiment: Experiment,
    arrays: Mapping[str, np.ndarray],
    story: TrainingStory,
    images: np.ndarray,
    indices: np.ndarray,
    terminal: Sequence[str],
    figures: Sequence[Any],
    config_yaml: str,
    overrides: Sequence[str],
    facts: Mapping[str, Any],
    files: Mapping[str, str],
    figures_note: str,
    lang: str = "en",
) -> str:
    """The page of a training run. `experiment` and `arrays`: the first test image through
    the last epoch's weights; `images` [N, C, H, W]: the test images, dataset `indices`."""
    known = lang if lang in PAGE else "en"
    page, words = PAGE[known], TRAINING[known]
    context = report_context(
        experiment=experiment,
        arrays=arrays,
        figures=(),
        explanation=None,
        config_yaml=config_yaml,
        overrides=overrides,
        facts=facts,
        files=files,
        figures_note=figures_note,
        lang=lang,
    )
    shown = {"epoch": story.last, "index": int(indices[0])}
    and_words = context["w"]["places_and"]
    replaced = {
        "lead": page["lead"].format(terminal=and_words.join(terminal)),
        "explorer": page["explorer"],
        "reset": page["reset"].format(**shown),
        "stored": page["stored"].format(**shown),
    }
    context["w"] = {**context["w"], **replaced}
    context["title"] = page["title"].format(
        classes=" / ".join(story.classes),
        pipeline=facts.get("pipeline", ""),
        backend=facts.get("backend", ""),
        dtype=facts.get("dtype", ""),
        epochs=story.last,
    )
    for step in context["steps"]:
        name = step["name"]
        step["saved"] = (
            words["images_saved"]
            if name == "input"
            else words["kernels_saved"]
            if name in story.kernels
            else words["not_saved"]
        )
    context["figures"] = figure_entries(figures, lang)
    context["t"] = words
    context["training"] = None
    data = context["data"]
    if data is not None:
        data["words"] = {**data["words"], **replaced, **words}
        for entry in data["stages"]:
            if entry["name"] in story.biases:
                # the learned bias, as the stage's own: the engine reads it over conv.bias
                entry["params"]["bias"] = [float(b) for b in story.biases[entry["name"]][-1]]
        context["scripts"] = [*context["scripts"], *TRAINING_SCRIPTS]
        context["training"] = training_data(story, images, indices, terminal, experiment.dtype)
        context["training"]["options"] = [
            words["option"].format(
                index=index,
                label=story.classes[label],
                predicted=story.classes[predicted],
            )
            for index, label, predicted in zip(
                context["training"]["images"]["index"],
                story.labels,
                story.predicted,
                strict=False,  # the page may carry fewer images than the test split has
            )
        ]
    return render("training.html.j2", **context)


def training_data(
    story: TrainingStory,
    images: np.ndarray,
    indices: np.ndarray,
    terminal: Sequence[str],
    dtype: np.dtype,
) -> dict[str, Any]:
    """The page's JSON (xopipe-training): every epoch's scores and weights, the test images."""
    per_image = int(np.prod(images.shape[1:]))
    carried = max(1, min(len(images), MAX_IMAGE_CELLS // max(per_image, 1)))
    return {
        "dtype": dtype.name,
        "epochs": story.epochs.tolist(),
        "scores": {
            split: {
                "loss": story.scores[split][0].tolist(),
                "accuracy": story.scores[split][1].tolist(),
            }
            for split in SPLITS
        },
        "weights": {
            name: {
                "data": [packed(epoch, dtype) for epoch in weights],
                "bias": story.biases[name].tolist(),
            }
            for name, weights in story.kernels.items()
        },
        "head": {
            "shape": list(story.head_weight.shape[1:]),
            "weight": [packed(epoch, dtype) for epoch in story.head_weight],
            "bias": story.head_bias.tolist(),
        },
        "terminal": list(terminal),
        "classes": list(story.classes),
        "images": {
            "shape": [carried, *images.shape[1:]],
            "data": packed(images[:carried], dtype),
            "index": [int(i) for i in indices[:carried]],
            "label": story.labels[:carried].tolist(),
            "predicted": story.predicted[:carried].tolist(),
            "of": len(images),
        },
        "shown": {"epoch": len(story.epochs) - 1, "image": 0},
    }


def write_training_page(path: Path, out_dir: Path, written: Sequence[Path], **parts: Any) -> Path:
    """Hash the files written so far and write the page atomically."""
    files = {p.relative_to(out_dir).as_posix(): sha256_of(p) for p in sorted(written)}
    write_text(path, build_training_page(files=files, **parts))
    return path
