"""Reruns draw byte-identical figures in every format."""

from __future__ import annotations

import pytest

from tests.cli import run_cli


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_reruns_write_identical_figures(tmp_path, fmt):
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        result = run_cli(
            "print_matrices=false",
            f"figures={fmt}",
            "explain=conv:0:1:2",
            f"hydra.run.dir={folder}",
        )
        assert result.code == 0, result.stderr
    first = sorted((folders[0] / "figures").iterdir())
    assert len(first) == 6 + 1  # input, kernels, 3 stages, overview, the explanation
    assert all(path.suffix == f".{fmt}" for path in first)
    for path in first:
        again = folders[1] / "figures" / path.name
        assert again.read_bytes() == path.read_bytes(), path.name
