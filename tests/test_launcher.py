"""hydra/launcher=xopipe gives every job exactly what Hydra's basic launcher gives it.

Random sweep grids (group choices and values mixed) run under both
launchers; each job's .hydra/config.yaml and overrides.yaml, its hydra.yaml
(but for the launcher's own name and the sweep folder) and its tables must
be byte-identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def sweep(grid: list[str], folder: Path, launcher: str) -> list[Path]:
    result = run_cli(
        "-m",
        *grid,
        "figures=none",
        "print_matrices=false",
        f"hydra.sweep.dir={folder}",
        f"hydra/launcher={launcher}",
    )
    assert result.code == 0, result.stderr
    return sorted((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def hydra_yaml(job: Path, sweep_dir: Path, launcher: str) -> str:
    text = (job / ".hydra" / "hydra.yaml").read_text().replace(str(sweep_dir), "SWEEP")
    lines = [
        line
        for line in text.splitlines()
        if "_target_: hydra" not in line and "reuse_compositions" not in line
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
@given(grid=grids())
def test_jobs_match_the_basic_launcher(tmp_path_factory, grid):
    root = tmp_path_factory.mktemp("launchers")
    fast, basic = root / "xopipe", root / "basic"
    fast_jobs, basic_jobs = sweep(grid, fast, "xopipe"), sweep(grid, basic, "basic")
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


@pytest.mark.slow
def test_one_composition_per_group_choice(tmp_path, monkeypatch):
    from hydra_plugins.xopipe_launcher import _core

    made = []
    original = _core.ReusingSweepLoader.load_sweep_config

    def spy(self, master_config, sweep_overrides):
        config = original(self, master_config, sweep_overrides)
        made.append(self.compositions)
        return config

    monkeypatch.setattr(_core.ReusingSweepLoader, "load_sweep_config", spy)
    jobs = sweep(["pool=max,avg", "conv.stride=1,2,3", "conv.bias=0,1"], tmp_path / "s", "xopipe")
    assert len(jobs) == 12
    assert max(made) == 2  # one full composition for pool=max, one for pool=avg
