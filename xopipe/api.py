"""xopipe from Python (a notebook, a script): `xopipe.run("conv.stride=2")`.

(The module that runs one experiment is xopipe.runner: a submodule named
`run` would replace this function as the package attribute when imported.)

The config is composed with Hydra's Compose API from the same configs the
command line uses, so an override means the same thing in both places; the
run writes the same files (into `out_dir`, or a new temporary folder that
goes when the result does).
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xopipe.config.compose import compose_config
from xopipe.experiment import Experiment, build_experiment
from xopipe.explain import explain, parse_cell
from xopipe.explain.gradient import explain_gradient, is_gradient_cell, parse_gradient_cell
from xopipe.gradients import Gradients
from xopipe.run_folder import MANIFEST, REPORT
from xopipe.runner import run_experiment


@dataclass(frozen=True)
class Result:
    """One finished run: its arrays, its manifest, its folder."""

    arrays: dict[str, np.ndarray]  # `input`, then every stage in run order: [C, H, W]
    manifest: dict[str, Any]
    out_dir: Path
    experiment: Experiment
    # With loss=sum or loss=mse: dL/d `input` and every stage's output ([C, H, W]),
    # dL/d each weighted stage's {"weight": [K, C, kh, kw], "bias": [K]}, and L itself.
    grads: dict[str, np.ndarray] | None = None
    weight_grads: dict[str, dict[str, np.ndarray]] | None = None
    loss: float | None = None
    # Removes out_dir when it is a temporary folder: on close(), or when the result goes.
    _cleanup: weakref.finalize | None = field(default=None, repr=False, compare=False)

    def close(self) -> None:
        """Remove a temporary out_dir now (out_dir=None); a folder you named stays."""
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> Result:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def explain(self, stage: str, channel: int, row: int, col: int) -> str:
        """How that cell was computed, as `explain=stage:channel:row:col` prints it; with
        `stage` as `grad:NAME` (a run with a loss), how dL/d it was, as explain=grad:... does."""
        text = f"{stage}:{channel}:{row}:{col}"
        if is_gradient_cell(text):
            cell = parse_gradient_cell(text, self.experiment)
            assert self.grads is not None  # parse_gradient_cell refused a run without a loss
            found = explain_gradient(cell, self.experiment, self.arrays, self.grads)
            return "\n".join(found.steps)
        cell = parse_cell(text, self.experiment)
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
    command line prints (Hydra's own error, if it was Hydra's, as its cause).
    With out_dir=None the files go to a new temporary folder (result.out_dir),
    removed when the result is released or closed (`with xopipe.run(...) as r:`),
    and at once when the run fails.
    """
    cfg = compose_config(overrides)
    temporary = out_dir is None
    folder = Path(tempfile.mkdtemp(prefix="xopipe-") if out_dir is None else out_dir)
    try:
        results = run_experiment(cfg, folder, list(overrides), show_matrices=False)
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        gradients = results.gradients
        result = Result(
            results.arrays,
            manifest,
            folder,
            build_experiment(cfg),
            grads=None if gradients is None else gradients.arrays,
            weight_grads=None if gradients is None else _weight_grads(gradients),
            loss=None if gradients is None else gradients.value,
        )
    except BaseException:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if temporary:
        # Not a method of the result: the finalizer must not keep it alive.
        cleanup = weakref.finalize(result, shutil.rmtree, folder, ignore_errors=True)
        object.__setattr__(result, "_cleanup", cleanup)
    return result


def _weight_grads(gradients: Gradients) -> dict[str, dict[str, np.ndarray]]:
    return {
        name: {"weight": found.weight, "bias": found.bias}
        for name, found in gradients.weights.items()
    }
