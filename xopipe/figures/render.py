"""Draw every figure of a run and save each under figures/, atomically.

Called only when figures are on: this is where matplotlib gets imported.
Every file is also kept in memory for report.html (a PNG rendering when
the format is PDF, which browsers do not show inline).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from xopipe.experiment import Experiment
from xopipe.explain import Explanation
from xopipe.figures import animate, draw
from xopipe.figures.explain_figure import explain_figure
from xopipe.figures.gradient_figure import gradients_figure
from xopipe.figures.layout import DPI, Style
from xopipe.gradients import Gradients
from xopipe.sinks.files import atomic_path

log = logging.getLogger(__name__)

MIME = {"png": "image/png", "svg": "image/svg+xml", "gif": "image/gif"}
# No creation date in SVG and PDF files: a rerun writes the same bytes.
METADATA: dict[str, dict[str, None]] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}
# SVG element ids are hashed with a random salt unless one is set: a fixed one
# makes reruns write the same bytes.
SVG_SALT = "xopipe"
# PNG zlib level 3 instead of 6: 2-3 times faster on noisy maps, files ~4% larger.
PNG_OPTIONS: dict[str, Any] = {"pil_kwargs": {"compress_level": 3}}


@dataclass(frozen=True)
class FigureFile:
    path: Path
    kind: str  # input | kernels | stage | overview | gradients | explain | animation
    stage: str | None  # the stage it shows, if one
    mime: str  # of `data`
    data: bytes  # what report.html embeds


def save_figure(fig: Figure, path: Path, fmt: str) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    options = PNG_OPTIONS if fmt == "png" else {}
    fig.savefig(buffer, format=fmt, dpi=DPI, metadata=METADATA.get(fmt), **options)
    with atomic_path(path) as temporary:
        temporary.write_bytes(buffer.getvalue())
    if fmt in MIME:
        return MIME[fmt], buffer.getvalue()
    preview = io.BytesIO()
    fig.savefig(preview, format="png", dpi=DPI, **PNG_OPTIONS)
    return MIME["png"], preview.getvalue()


def _figures(
    experiment: Experiment, arrays: dict[str, np.ndarray], style: Style
) -> Iterator[tuple[str, str, str | None, Figure]]:
    """(file stem, kind, stage, figure) in pipeline order, then the overview."""
    for number, (kind, name) in enumerate(draw.overview_rows(experiment)):
        if kind == "input":
            yield f"{number:02d}_input", "input", None, draw.input_figure(experiment, style)
        elif kind == "kernels":
            stem = f"{number:02d}_kernels_{name}"
            yield stem, "kernels", name, draw.kernels_figure(experiment, name, style)
        else:
            figure = draw.stage_figure(experiment, name, arrays[name], style)
            yield f"{number:02d}_{name}", "stage", name, figure
    yield "overview", "overview", None, draw.overview_figure(experiment, arrays, style)


def render_figures(
    experiment: Experiment,
    arrays: dict[str, np.ndarray],
    style: Style,
    fmt: str,
    rc: dict[str, object],
    folder: Path,
    explanation: Explanation | None = None,
    animate_windows: bool = False,
    gradients: Gradients | None = None,
) -> list[FigureFile]:
    """Draw and save every figure of the run into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[FigureFile] = []
    settings = {"svg.hashsalt": SVG_SALT, **rc}
    with matplotlib.rc_context(settings):  # type: ignore[arg-type]  # stubs want literal keys
        for stem, kind, stage, figure in _figures(experiment, arrays, style):
            path = folder / f"{stem}.{fmt}"
            files.append(FigureFile(path, kind, stage, *save_figure(figure, path, fmt)))
        if gradients is not None:
            figure = gradients_figure(experiment, gradients, style)
            path = folder / f"gradients.{fmt}"
            files.append(FigureFile(path, "gradients", None, *save_figure(figure, path, fmt)))
        if explanation is not None:
            figure = explain_figure(explanation, arrays, style)
            path = folder / f"explain_{explanation.cell.slug}.{fmt}"
            files.append(
                FigureFile(path, "explain", explanation.cell.stage, *save_figure(figure, path, fmt))
            )
        if animate_windows:
            files.extend(_animations(experiment, arrays, style, folder))
    return files


def _animations(
    experiment: Experiment, arrays: dict[str, np.ndarray], style: Style, folder: Path
) -> Iterator[FigureFile]:
    for name in experiment.pipeline.order:
        if not experiment.stages[name].op.slides_window:
            continue
        reason = animate.animatable(experiment, name)
        frames = None if reason else animate.slide_frames(experiment, name, arrays, style)
        if frames is None:
            reason = reason or f"{name}'s input is larger than {animate.MAX_INPUT_SIDE} a side"
            log.info("figures.animate: no animation for %s: %s", name, reason)
            continue
        path = folder / f"slide_{name}.gif"
        animate.write_gif(path, frames)
        yield FigureFile(path, "animation", name, MIME["gif"], path.read_bytes())
