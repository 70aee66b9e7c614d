"""The diff report names each run by what sets it apart, and says in words when a whole grid
moved by one amount (its heatmap is one solid colour): real runs, compared with xopipe-diff."""

from __future__ import annotations

import html
import re

import numpy as np

from tests.cli import run_cli
from xopipe.diff.cli import main as diff_main
from xopipe.sinks.tables import read_parquet_arrays, write_parquet

QUIET = ("print_matrices=false", "figures=none")
VERDICT = "runs differ: 9 of 10 grids beyond tolerance (conv, pool, activation), in 1 of 1 pair"


def moved_as_a_whole(a, b) -> list[str]:
    """The grids (stage channel) whose every cell differs by one amount, from the tables."""
    arrays_a = read_parquet_arrays(a / "matrices.parquet")
    arrays_b = read_parquet_arrays(b / "matrices.parquet")
    found = []
    for stage, grids in arrays_a.items():
        for channel, grid in enumerate(grids):
            step = arrays_b[stage][channel] - grid
            if np.all(np.abs(step) > 1e-9) and np.ptp(step) <= 1e-9:
                found.append(f"{stage} {channel}")
    return found


def test_two_jobs_of_a_bias_sweep_are_named_by_their_bias(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    swept = run_cli("-m", "conv.bias=0,1", *QUIET, f"hydra.sweep.dir={sweep}")
    assert swept.code == 0, swept.stderr
    a, b = sweep / "0", sweep / "1"
    assert diff_main([str(a), str(b), "--out", str(tmp_path / "d")]) == 1
    assert capsys.readouterr().out.splitlines()[0] == f"{VERDICT}: conv.bias=0 vs conv.bias=1"
    markdown = (tmp_path / "d" / "diff_report.md").read_text()
    assert markdown.splitlines()[2] == f"**{VERDICT}: conv.bias=0 vs conv.bias=1**"
    assert f"### conv.bias=0 vs conv.bias=1\n\na = {a} (numpy), b = {b} (numpy). 9 of 10" in (
        markdown
    )
    assert "| stage | channel | row | col | a (conv.bias=0) | b (conv.bias=1) | \\|a - b\\| |" in (
        markdown
    )
    # conv and pool move by the bias everywhere; relu does not (x < 0 moves by less).
    assert moved_as_a_whole(a, b) == [f"{s} {c}" for s in ("conv", "pool") for c in range(3)]
    assert (
        "Every cell of conv 0, conv 1, conv 2, pool 0, pool 1, pool 2 differs by 1.0 "
        "(b = a + 1.0): each grid moved as a whole."
    ) in markdown
    page = html.unescape((tmp_path / "d" / "diff_report.html").read_text())
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert captions[:4] == [
        "conv channel 0, every cell differs by 1.0",
        "conv channel 1, every cell differs by 1.0",
        "conv channel 2, every cell differs by 1.0",
        "pool channel 0, every cell differs by 1.0",
    ]
    assert captions[-1] == "activation channel 2, max |a - b| 1.0"
    assert "(numpy) vs" not in markdown  # the backend does not tell these two apart


def test_two_runs_are_named_by_the_overrides_that_differ(tmp_path, capsys):
    plain, changed = tmp_path / "plain", tmp_path / "changed"
    assert run_cli(*QUIET, f"hydra.run.dir={plain}").code == 0
    assert run_cli(*QUIET, "conv.bias=-0.5", "pool=avg", f"hydra.run.dir={changed}").code == 0
    assert diff_main([str(plain), str(changed), "--out", str(tmp_path / "d")]) == 1
    verdict = capsys.readouterr().out.splitlines()[0]
    assert verdict.endswith(
        "in 1 of 1 pair: conv.bias (default) pool (default) vs conv.bias=-0.5 pool=avg"
    )
    markdown = (tmp_path / "d" / "diff_report.md").read_text()
    assert "| a (conv.bias (default) pool (default)) | b (conv.bias=-0.5 pool=avg) |" in markdown
    assert "Every cell of conv 0, conv 1, conv 2 differs by 0.5 (b = a - 0.5)" in markdown
    assert moved_as_a_whole(plain, changed) == ["conv 0", "conv 1", "conv 2"]


def test_runs_with_the_same_overrides_keep_their_folder_names(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        assert run_cli(*QUIET, "conv.bias=1", f"hydra.run.dir={folder}").code == 0
    assert diff_main([str(first), str(second), "--out", str(tmp_path / "d")]) == 0
    assert capsys.readouterr().out.startswith("runs agree: 10 grids within tolerance in 1 pair")
    arrays = read_parquet_arrays(second / "matrices.parquet")
    arrays["pool"][0, 0, 0] += 1e-3
    write_parquet(second / "matrices.parquet", arrays)
    assert diff_main([str(first), str(second), "--out", str(tmp_path / "e")]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"runs differ: 1 of 10 grids beyond tolerance (pool), in 1 of 1 pair: {first} vs {second}"
    )
    markdown = (tmp_path / "e" / "diff_report.md").read_text()
    assert "differs by" not in markdown  # one cell moved, not the grid
