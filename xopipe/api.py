"""xopipe from Python (a notebook, a script): `xopipe.run("conv.stride=2")`.

(The module that runs one experiment is xopipe.runner: a submodule named
`run` would replace this function as the package attribute when imported.)

The config is composed with Hydra's Compose API from the same configs the
command line uses, so an override means the same thing in both places; the
run writes the same files (into `out_dir`, or a new temporary folder).
"""

from __future__ import annotations

import html
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra

from xopipe.config import register_configs
from xopipe.config.hydra_release import compose_options
from xopipe.experiment import Experiment, build_experiment
from xopipe.explain import explain, parse_cell
from xopipe.runner import run_experiment

REPORT = "report.html"


@dataclass(frozen=True)
class Result:
    """One finished run: its arrays, its manifest, its folder."""

    arrays: dict[str, np.ndarray]  # `input`, then every stage in run order: [C, H, W]
    manifest: dict[str, Any]
    out_dir: Path
    experiment: Experiment

    def explain(self, stage: str, channel: int, row: int, col: int) -> str:
        """How that cell was computed, as `explain=stage:channel:row:col` prints it."""
        cell = parse_cell(f"{stage}:{channel}:{row}:{col}", self.experiment)
        return "\n".join(explain(cell, self.experiment, self.arrays).steps)

    @property
    def report(self) -> Path:
        return self.out_dir / REPORT

    def _repr_html_(self) -> str:
        """The explorer inline: the run's report.html in a sandboxed frame of its own."""
        page = self.report.read_text(encoding="utf-8")
        return (
            f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
            'style="width: 100%; height: 820px; border: 1px solid #ddd" '
            f'title="xopipe explorer: {html.escape(str(self.out_dir))}"></iframe>'
        )

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name} {list(a.shape)}" for name, a in self.arrays.items())
        return f"<xopipe run in {self.out_dir}: {shapes}>"


def run(*overrides: str, out_dir: str | Path | None = None) -> Result:
    """Run xopipe with command-line style overrides ("conv.stride=2", "pool=avg").

    A mistake raises xopipe.errors.UserError with the same one line the
    command line prints.
    """
    register_configs()
    if GlobalHydra.instance().is_initialized():  # inside a Hydra app, or a caller's compose
        cfg = compose(config_name="config", overrides=list(overrides))
    else:
        with initialize_config_module(config_module="xopipe.conf", **compose_options()):
            cfg = compose(config_name="config", overrides=list(overrides))
    folder = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="xopipe-"))
    results = run_experiment(cfg, folder, list(overrides), show_matrices=False)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return Result(results.arrays, manifest, folder, build_experiment(cfg))
