"""hydra/launcher=xopipe gives every job exactly what Hydra's basic launcher gives it.

Random sweep grids (group choices and values mixed) run under both
launchers; each job's .hydra/config.yaml and overrides.yaml, its hydra.yaml
(but for the launcher's own name and the sweep folder) and its tables must
be byte-identical.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hydra_plugins.xopipe_launcher._core import worker_count
from tests.cli import run_cli

# Sweepable keys and the values a grid may take for them (groups and plain values).
AXES = {
    "backend": ["numpy", "torch", "loop"],
    "pool": ["max", "avg"],
    "activation": ["relu", "tanh", "leaky_relu"],
    "input": ["x", "o"],
    "kernels": ["xo", "sobel", "laplacian"],
    "dtype": ["float64", "float32"],
    "conv.stride": ["1", "2"],
    "conv.bias": ["0", "0.5", "-1"],
    "conv.padding": ["0", "1", "same"],
    "pool.size": ["2", "3"],
    "+pipeline.stages.pool.params.ceil_mode": ["true", "false"],
}


@st.composite
def grids(draw) -> list[str]:
    keys = draw(st.lists(st.sampled_from(sorted(AXES)), min_size=2, max_size=3, unique=True))
    grid = []
    for key in keys:
        values = draw(st.lists(st.sampled_from(AXES[key]), min_size=1, max_size=2, unique=True))
        grid.append(f"{key}={','.join(values)}")
    return grid


def sweep(grid: list[str], folder: Path, launcher: str, *extra: str) -> list[Path]:
    result = run_cli(
        "-m",
        *grid,
        "figures=none",
        "print_matrices=false",
        f"hydra.sweep.dir={folder}",
        f"hydra/launcher={launcher}",
        *extra,
    )
    assert result.code == 0, result.stderr
    return sorted((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def hydra_yaml(job: Path, sweep_dir: Path, launcher: str) -> str:
    text = (job / ".hydra" / "hydra.yaml").read_text().replace(str(sweep_dir), "SWEEP")
    lines = [
        line
        for line in text.splitlines()
        if "_target_: hydra" not in line
        and "reuse_compositions" not in line
        and "n_jobs" not in line
    ]
    return (
        "\n".join(lines)
        .replace(f"hydra/launcher={launcher}", "LAUNCHER")
        .replace(f"hydra/launcher: {launcher}", "hydra/launcher: LAUNCHER")
    )


@pytest.mark.slow
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(grid=grids(), n_jobs=st.sampled_from([1, 2]))
def test_jobs_match_the_basic_launcher(tmp_path_factory, grid, n_jobs):
    """In this process (n_jobs=1) or in two forked workers, every job's files are the same."""
    root = tmp_path_factory.mktemp("launchers")
    fast, basic = root / "xopipe", root / "basic"
    fast_jobs = sweep(grid, fast, "xopipe", f"hydra.launcher.n_jobs={n_jobs}")
    basic_jobs = sweep(grid, basic, "basic")
    assert [j.name for j in fast_jobs] == [j.name for j in basic_jobs]
    for mine, theirs in zip(fast_jobs, basic_jobs, strict=True):
        for name in ("config.yaml", "overrides.yaml"):
            assert (mine / ".hydra" / name).read_text() == (theirs / ".hydra" / name).read_text()
        assert hydra_yaml(mine, fast, "xopipe") == hydra_yaml(theirs, basic, "basic")
        assert (mine / "matrices.parquet").read_bytes() == (
            theirs / "matrices.parquet"
        ).read_bytes()
        tables = {
            k: v
            for k, v in json.loads((mine / "manifest.json").read_text())["files"].items()
            if k.startswith("matrices")
        }
        theirs_tables = {
            k: v
            for k, v in json.loads((theirs / "manifest.json").read_text())["files"].items()
            if k.startswith("matrices")
        }
        assert tables == theirs_tables


def _compositions_in(monkeypatch) -> list[int]:
    from xopipe.private_api.sweep_loader import ReusingSweepLoader

    made: list[int] = []
    original = ReusingSweepLoader.load_sweep_config

    def spy(self, master_config, sweep_overrides):
        config = original(self, master_config, sweep_overrides)
        made.append(self.compositions)
        return config

    monkeypatch.setattr(ReusingSweepLoader, "load_sweep_config", spy)
    return made


@pytest.mark.slow
def test_one_composition_per_group_choice(tmp_path, monkeypatch):
    made = _compositions_in(monkeypatch)
    jobs = sweep(["pool=max,avg", "conv.stride=1,2,3", "conv.bias=0,1"], tmp_path / "s", "xopipe")
    assert len(jobs) == 12
    assert max(made) == 2  # one full composition for pool=max, one for pool=avg


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fixed", "compositions"),
    [
        # Plain and ++ assignments: the sweep's own composition is every job's base.
        (["kernels=sobel", "++dtype=float32", "hydra.job.chdir=true", "conv.padding=1"], 0),
        # A +key would be added twice to the sweep's composition: composed again once.
        (["kernels=sobel", "+pipeline.stages.pool.params.ceil_mode=true"], 1),
    ],
)
def test_a_value_sweep_starts_from_the_sweeps_own_composition(
    tmp_path, monkeypatch, fixed, compositions
):
    made = _compositions_in(monkeypatch)
    grid = ["conv.stride=1,2", "conv.bias=0,0.5", *fixed]
    mine = sweep(grid, tmp_path / "xopipe", "xopipe", "hydra.launcher.n_jobs=1")
    assert made and max(made) == compositions
    theirs = sweep(grid, tmp_path / "basic", "basic")
    for job, other in zip(mine, theirs, strict=True):
        for name in ("config.yaml", "overrides.yaml"):
            assert (job / ".hydra" / name).read_text() == (other / ".hydra" / name).read_text()
        assert hydra_yaml(job, tmp_path / "xopipe", "xopipe") == hydra_yaml(
            other, tmp_path / "basic", "basic"
        )
        assert (job / "matrices.parquet").read_bytes() == (other / "matrices.parquet").read_bytes()


def test_n_jobs_zero_is_refused_in_one_line(tmp_path):
    folder = f"hydra.sweep.dir={tmp_path}"
    result = run_cli("-m", "conv.stride=1,2", "figures=none", folder, "hydra.launcher.n_jobs=0")
    assert result.code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: hydra.launcher.n_jobs must be a number of worker processes (1 runs every job "
        "in this process) or -1 for one per core (-2: all but one), got 0"
    )


def test_worker_count_reads_n_jobs_as_joblib_does():
    cores = len(os.sched_getaffinity(0))
    assert worker_count(3) == 3
    assert worker_count(-1) == cores
    assert worker_count(-2) == max(1, cores - 1)


@pytest.mark.slow
def test_a_search_path_from_the_command_line_finds_its_groups(tmp_path):
    """hydra.searchpath decides where group options are found: it goes into every composition."""
    extra = tmp_path / "confs" / "input"
    extra.mkdir(parents=True)
    (extra / "plus.yaml").write_text(
        "defaults:\n  - /schema/input/values@_here_\n  - _self_\n\n"
        "name: plus\nvalues:\n  - [0, 1, 0, 0]\n  - [1, 1, 1, 1]\n"
        "  - [0, 1, 0, 0]\n  - [0, 1, 0, 0]\n"
    )
    grid = [f"hydra.searchpath=[file://{tmp_path / 'confs'}]", "input=x,plus", "conv.stride=1,2"]
    mine = sweep(grid, tmp_path / "xopipe", "xopipe")
    theirs = sweep(grid, tmp_path / "basic", "basic")
    assert len(mine) == len(theirs) == 4
    for job, other in zip(mine, theirs, strict=True):
        assert (job / ".hydra" / "config.yaml").read_text() == (
            other / ".hydra" / "config.yaml"
        ).read_text()
        assert (job / "matrices.parquet").read_bytes() == (other / "matrices.parquet").read_bytes()
