"""What a training run shows beyond its tables: figures/ and report.html.

`plan_training_outputs` checks figures.* before any work (a mistake is one
line, as every config mistake is); `TrainingOutputs.write`, once the tables
are written, draws the figures (matplotlib is imported only then, and only
when figures are on) and writes the page, and gives the paths for the
manifest. Both show the epochs the run kept, as a TrainingStory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from omegaconf import DictConfig

from xopipe.backends import get_backend
from xopipe.config.train_schema import TrainConfig
from xopipe.experiment import Experiment, execute
from xopipe.figures.settings import FigureSettings, job_figures, read_settings
from xopipe.figures.training_story import SPLITS, TrainingStory
from xopipe.html.training_page import write_training_page
from xopipe.previous import recorded_config
from xopipe.private_api.yaml_text import to_yaml
from xopipe.run_folder import REPORT
from xopipe.training.data import Dataset
from xopipe.training.model import HEAD, Model, Parameters
from xopipe.training.trainer import Epoch

FIGURES = "figures"
FIGURES_OFF = "Figures were off for this run (figures=none)."


def seed_kernels() -> np.ndarray:
    """The seed's three hand-made 3x3 kernels, as conf/kernels/xo.yaml holds them."""
    text = (resources.files("xopipe.conf") / "kernels" / "xo.yaml").read_text()
    return np.array(yaml.safe_load(text)["values"], dtype=np.float64)


def training_story(
    model: Model, data: Dataset, epochs: Sequence[Epoch], probabilities: np.ndarray
) -> TrainingStory:
    """The epochs as arrays: the numbers history.parquet and weights_history.parquet hold."""

    def stacked(key: str) -> np.ndarray:
        return np.stack([epoch.params[key] for epoch in epochs]).astype(np.float64)

    return TrainingStory(
        epochs=np.array([epoch.number for epoch in epochs]),
        scores={
            split: (
                np.array([epoch.scores[split][0] for epoch in epochs], dtype=np.float64),
                np.array([epoch.scores[split][1] for epoch in epochs], dtype=np.float64),
            )
            for split in SPLITS
        },
        kernels={name: stacked(f"{name}.weight") for name in model.weighted},
        biases={name: stacked(f"{name}.bias") for name in model.weighted},
        head_weight=stacked(f"{HEAD}.weight"),
        head_bias=stacked(f"{HEAD}.bias"),
        seed_kernels=seed_kernels(),
        classes=data.classes,
        labels=data.part("test")[1],
        predicted=probabilities.argmax(axis=1),
    )


def experiment_at(experiment: Experiment, params: Parameters, image: np.ndarray, name: str):
    """The pipeline with these weights, on one image [C, H, W] named `name`."""
    stages = {}
    for stage_name, stage in experiment.stages.items():
        if f"{stage_name}.weight" in params:
            assert stage.op.reweighted is not None
            own = stage.op.reweighted(
                stage.params, params[f"{stage_name}.weight"], params[f"{stage_name}.bias"]
            )
            stage = dataclasses.replace(stage, params=own)
        stages[stage_name] = stage
    config = experiment.config
    config = dataclasses.replace(config, input=dataclasses.replace(config.input, name=name))
    source = image.astype(experiment.dtype)
    return dataclasses.replace(experiment, config=config, source=source, stages=stages)


@dataclass
class TrainingOutputs:
    settings: FigureSettings
    config_yaml: str  # the composed config, for the page
    overrides: list[str]
    lang: str = "en"  # the language titles really use (zh falls back without a font)
    rc: dict[str, object] = field(default_factory=dict)  # matplotlib settings (the font)
    off_note: str = FIGURES_OFF  # what the page says when no figures are drawn

    def write(
        self,
        out_dir: Path,
        model: Model,
        data: Dataset,
        epochs: Sequence[Epoch],
        probabilities: np.ndarray,
        written: Iterable[Path],
        facts: Mapping[str, Any],
    ) -> set[Path]:
        """Draw figures/ (unless figures=none) and write report.html; the paths written."""
        story = training_story(model, data, epochs, probabilities)
        figures: list[Any] = []
        if self.settings.enabled:
            from xopipe.figures.layout import Style
            from xopipe.figures.training_render import render_training_figures

            style = Style(self.lang, self.settings.cmap, self.settings.centred)
            figures = render_training_figures(
                story, style, self.settings.format, self.rc, out_dir / FIGURES
            )
        new = [figure.path for figure in figures]
        chosen = np.flatnonzero(data.splits == "test")
        images = data.images[chosen]
        first = experiment_at(
            model.experiment, epochs[-1].params, images[0], f"test image #{chosen[0]}"
        )
        page = write_training_page(
            out_dir / REPORT,
            out_dir,
            [*written, *new],
            experiment=first,
            arrays=execute(first, get_backend("numpy")).arrays,
            story=story,
            images=images,
            indices=chosen,
            terminal=model.terminal,
            figures=figures,
            config_yaml=self.config_yaml,
            overrides=self.overrides,
            facts=facts,
            figures_note="" if self.settings.enabled else self.off_note,
            lang=self.settings.lang,
        )
        return {*new, page}


def plan_training_outputs(
    cfg: DictConfig, config: TrainConfig, overrides: Sequence[str], draw: bool = True
) -> TrainingOutputs:
    """figures.* checked (format, language, colour map, font) before any work. `draw=False`
    (a sweep job whose command line did not ask for figures) draws none, and the page
    says why."""
    settings = read_settings(config.figures)
    outputs = TrainingOutputs(settings, to_yaml(recorded_config(cfg)), list(overrides))
    job = job_figures(settings, draw)
    outputs.settings, outputs.lang, outputs.rc = job.settings, job.lang, job.rc
    if job.off_note is not None:
        outputs.off_note = job.off_note
    return outputs
