"""Draw a training run's figures and save each under figures/, atomically.

Called only when figures are on (matplotlib is imported here). The files, in
the order report.html shows them: curves, the kernels by epoch (one figure
per weighted stage), kernels.gif, the learned kernels beside the seed's, the
confusion matrix.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from xopipe.figures import animate
from xopipe.figures.layout import Style
from xopipe.figures.render import MIME, SVG_SALT, FigureFile, save_figure
from xopipe.figures.training_animation import kernel_frames
from xopipe.figures.training_figures import (
    confusion_figure,
    curves_figure,
    kernels_by_epoch_figure,
    learned_figure,
)
from xopipe.figures.training_story import TrainingStory

ANIMATION = "kernels.gif"


def render_training_figures(
    story: TrainingStory, style: Style, fmt: str, rc: dict[str, object], folder: Path
) -> list[FigureFile]:
    folder.mkdir(parents=True, exist_ok=True)

    def saved(stem: str, kind: str, stage: str | None, figure: Figure) -> FigureFile:
        path = folder / f"{stem}.{fmt}"
        return FigureFile(path, kind, stage, *save_figure(figure, path, fmt))

    settings = {"svg.hashsalt": SVG_SALT, **rc}
    # Figures are made inside the rc context: their texts take its font when created.
    with matplotlib.rc_context(settings):  # type: ignore[arg-type]  # stubs want literal keys
        files = [saved("curves", "curves", None, curves_figure(story, style))]
        for name in story.kernels:
            figure = kernels_by_epoch_figure(story, name, style)
            files.append(saved(f"kernels_by_epoch_{name}", "kernels_by_epoch", name, figure))
        path = folder / ANIMATION
        animate.write_gif(path, kernel_frames(story, style))
        files.append(FigureFile(path, "kernels_animation", None, MIME["gif"], path.read_bytes()))
        files.append(saved("learned_kernels", "learned", None, learned_figure(story, style)))
        files.append(saved("confusion", "confusion", None, confusion_figure(story, style)))
    return files
