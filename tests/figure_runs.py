"""Runs and experiments for the figure tests: the seed's figure files, a run, its arrays."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import compose_config
from xopipe.backends import get_backend
from xopipe.experiment import build_experiment, execute
from xopipe.runner import run_experiment

SEED_FIGURES = [
    "00_input",
    "01_kernels_conv",
    "02_conv",
    "03_pool",
    "04_activation",
    "overview",
]


def run(out_dir: Path, *overrides: str):
    return run_experiment(compose_config(["print_matrices=false", *overrides]), out_dir)


def figure_for(*overrides: str):
    cfg = compose_config(list(overrides))
    experiment = build_experiment(cfg)
    return experiment, execute(experiment, get_backend("numpy")).arrays
