"""What a run shows a learner beyond its tables: explanation, figures, report.html.

`plan_outputs` checks `figures.*` and `explain` before any work (a mistake
stops the run with one line, as every config mistake does); `write` then
prints the explanation, draws the figures (only here is matplotlib
imported, and only when figures are on) and writes report.html.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xopipe.experiment import Experiment, Results
from xopipe.explain import CellRef, explain, parse_cell
from xopipe.explain.gradient import explain_gradient, is_gradient_cell, parse_gradient_cell
from xopipe.figures.settings import FigureSettings, job_figures, read_settings
from xopipe.html.explorer import MAX_CELLS, total_cells
from xopipe.html.report import write_report
from xopipe.pipeline import SOURCE
from xopipe.run_folder import REPORT

log = logging.getLogger(__name__)

FIGURES = "figures"


@dataclass
class Outputs:
    experiment: Experiment
    settings: FigureSettings
    cell: CellRef | None
    config_yaml: str
    gradient_cell: CellRef | None = None  # explain=grad:stage:c:r:c
    off_note: str = "Figures were off for this run (figures=none)."  # why, when off
    lang: str = "en"  # the language titles really use (zh falls back without a font)
    rc: dict[str, object] = field(default_factory=dict)  # matplotlib settings (the font)

    def write(
        self,
        results: Results,
        out_dir: Path,
        written: Sequence[Path],
        facts: dict[str, Any],
        overrides: Sequence[str] = (),
        hashes: dict[str, str] | None = None,
    ) -> list[Path]:
        """Print the explanation, write figures/ and report.html; the paths written.
        `hashes`: the sha256 the run has of `written`, by name (the report lists every
        file with its hash; those it computes are added)."""
        arrays, drawn, drawn_experiment = self._views(results)
        explanation = None
        if self.gradient_cell is not None:
            assert results.gradients is not None, "explain=grad: checked against the loss"
            steps = explain_gradient(
                self.gradient_cell, self.experiment, results.arrays, results.gradients.arrays
            ).steps
            print("\n".join(steps), end="\n\n")
        if self.cell is not None:
            explanation = explain(self.cell, self.experiment, arrays)
            print("\n".join(explanation.steps), end="\n\n")
        figures: list[Any] = []
        if self.settings.enabled:
            from xopipe.figures.layout import Style
            from xopipe.figures.render import render_figures

            style = Style(self.lang, self.settings.cmap, self.settings.centred)
            figures = render_figures(
                drawn_experiment,
                drawn,
                style,
                self.settings.format,
                self.rc,
                out_dir / FIGURES,
                explanation,
                self.settings.animate,
                results.gradients,
            )
        new = [figure.path for figure in figures]
        note = "" if self.settings.enabled else self.off_note
        report = write_report(
            out_dir / REPORT,
            out_dir,
            [*written, *new],
            hashes,
            experiment=self.experiment,
            arrays=arrays,
            figures=figures,
            explanation=explanation,
            config_yaml=self.config_yaml,
            overrides=list(overrides),
            facts=facts,
            figures_note=note,
            lang=self.settings.lang,
            gradients=results.gradients,
        )
        return [*new, report]

    def _views(self, results: Results) -> tuple[dict[str, Any], dict[str, Any], Experiment]:
        """(the arrays explain and the report read, those the figures draw, the experiment
        the figures draw). A lazy run's (backend=dask): computed whole once when small
        enough for the explorer page; else read where needed (explain: the chunks of one
        cell) and drawn from block means dask computes (figures/coarse.py)."""
        arrays = results.arrays
        if results.compute is None:
            return arrays, arrays, self.experiment
        if total_cells(arrays) <= MAX_CELLS:
            host = dict(zip(arrays, results.compute(*arrays.values()), strict=True))
            return host, host, dataclasses.replace(self.experiment, source=host[SOURCE])
        if not self.settings.enabled:
            return arrays, arrays, self.experiment
        from xopipe.figures.coarse import coarse_maps

        drawn = coarse_maps(arrays, results.compute)
        return arrays, drawn, dataclasses.replace(self.experiment, source=drawn[SOURCE])


def plan_outputs(experiment: Experiment, config_yaml: str, draw: bool = True) -> Outputs:
    """Check figures.* and explain against the experiment, before any work.

    `config_yaml` is the composed config as text, for the report. `draw=False`
    (a sweep job whose command line did not ask for figures) checks the
    settings but draws nothing, and the report says why.
    """
    config = experiment.config
    settings = read_settings(config.figures)
    cell = gradient_cell = None
    if is_gradient_cell(config.explain):
        gradient_cell = parse_gradient_cell(str(config.explain), experiment)
    elif config.explain not in (None, ""):
        cell = parse_cell(config.explain, experiment)
    outputs = Outputs(experiment, settings, cell, config_yaml, gradient_cell)
    job = job_figures(settings, draw)
    outputs.settings, outputs.lang, outputs.rc = job.settings, job.lang, job.rc
    if job.off_note is not None:
        outputs.off_note = job.off_note
    return outputs
