"""Running again into the same folder: complete results are kept unless asked; sweeps resume."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cli import run_cli

QUIET = ("print_matrices=false", "figures=none")


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_a_complete_run_is_not_overwritten(tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli(*QUIET, f"hydra.run.dir={run_dir}").code == 0
    before = (run_dir / "manifest.json").read_bytes()
    again = run_cli(*QUIET, "conv.bias=1", f"hydra.run.dir={run_dir}")
    assert again.code == 2
    assert again.stderr == (
        f"error: hydra.run.dir '{run_dir}' already holds a complete run; add overwrite=true "
        "to replace it, or choose another folder\n"
    )
    assert (run_dir / "manifest.json").read_bytes() == before
    assert "conv.bias=1" not in (run_dir / ".hydra" / "overrides.yaml").read_text()


def test_overwrite_replaces_the_run_and_its_stale_files(tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli("print_matrices=false", f"hydra.run.dir={run_dir}").code == 0  # with figures
    assert list((run_dir / "figures").iterdir())
    mine = run_dir / "notes.txt"
    mine.write_text("the user's own file")
    result = run_cli(*QUIET, "conv.bias=1", "overwrite=true", f"hydra.run.dir={run_dir}")
    assert result.code == 0
    assert manifest(run_dir)["status"] == "complete"
    assert not list((run_dir / "figures").glob("*"))  # figures=none now: none left behind
    assert mine.read_text() == "the user's own file"  # only files xopipe listed are removed


@pytest.mark.slow
def test_a_sweep_resumes_only_its_failed_and_missing_jobs(tmp_path):
    sweep_dir = tmp_path / "sweep"
    good, late = tmp_path / "a.csv", tmp_path / "b.csv"
    shutil.copy(Path(__file__).parent / "data" / "x.csv", good)
    grid = ["-m", "input=file", f"input.path={good},{late},{good}", "conv.bias=0,1"]
    first = run_cli(*grid, *QUIET, f"hydra.sweep.dir={sweep_dir}")
    assert first.code == 1  # b.csv does not exist yet: its two jobs fail
    status = {p.name: manifest(p)["status"] for p in sweep_dir.iterdir() if p.name.isdigit()}
    assert sorted(status.values()) == ["complete"] * 4 + ["failed"] * 2

    refused = run_cli(*grid, *QUIET, f"hydra.sweep.dir={sweep_dir}")
    assert refused.code == 2 and "already holds a sweep with 4 complete job(s)" in refused.stderr

    shutil.copy(good, late)  # the missing file arrives
    shutil.rmtree(sweep_dir / "0")  # and one job's folder is lost
    kept = {
        n: (sweep_dir / n / "manifest.json").read_bytes()
        for n, s in status.items()
        if s == "complete" and n != "0"
    }
    resumed = run_cli(
        *grid,
        *QUIET,
        "resume=true",
        "hydra.callbacks.sweep_summary.progress=true",
        f"hydra.sweep.dir={sweep_dir}",
    )
    assert resumed.code == 0, resumed.stderr
    counts = re.findall(r"^\[(\d+)/(\d+)\]", resumed.stderr, flags=re.MULTILINE)
    assert counts and counts[-1] == ("6", "6")  # the skipped jobs count as done
    for name, before in kept.items():  # complete jobs were not run again
        assert (sweep_dir / name / "manifest.json").read_bytes() == before
    jobs = [p for p in sweep_dir.iterdir() if p.name.isdigit()]
    assert len(jobs) == 6 and all(manifest(p)["status"] == "complete" for p in jobs)
    # The summary is rebuilt from the folder: all six jobs, all complete.
    summary = pq.read_table(sweep_dir / "summary.parquet", columns=["job", "status"]).to_pylist()
    assert {(row["job"], row["status"]) for row in summary} == {(n, "complete") for n in range(6)}


@pytest.mark.slow
def test_resume_reruns_a_job_whose_config_changed(tmp_path):
    sweep_dir = tmp_path / "sweep"
    assert run_cli("-m", "conv.stride=1,2", *QUIET, f"hydra.sweep.dir={sweep_dir}").code == 0
    fingerprints = {
        p.name: manifest(p)["config_sha256"] for p in sweep_dir.iterdir() if p.name.isdigit()
    }
    again = run_cli(
        "-m",
        "conv.stride=1,2",
        "conv.bias=1",
        *QUIET,
        "resume=true",
        f"hydra.sweep.dir={sweep_dir}",
    )
    assert again.code == 0
    for name, before in fingerprints.items():
        assert manifest(sweep_dir / name)["config_sha256"] != before
        assert manifest(sweep_dir / name)["status"] == "complete"


def test_a_resumed_sweep_matches_a_fresh_one_in_xopipe_diff(tmp_path):
    """Resume rewrites a skipped job's .hydra/overrides.yaml (adding resume=true); the
    results, their manifest and what xopipe-diff matches on are unchanged."""
    from xopipe.diff.cli import main as diff_main

    grid = ["-m", "conv.stride=1,2", "pool=max,avg"]
    fresh, resumed = tmp_path / "fresh", tmp_path / "resumed"
    assert run_cli(*grid, *QUIET, f"hydra.sweep.dir={fresh}").code == 0
    assert run_cli(*grid, *QUIET, f"hydra.sweep.dir={resumed}").code == 0
    again = run_cli(*grid, *QUIET, "resume=true", f"hydra.sweep.dir={resumed}")
    assert again.code == 0, again.stderr
    assert "resume=true" in (resumed / "0" / ".hydra" / "overrides.yaml").read_text().lower()
    summary = pq.read_table(resumed / "summary.parquet")
    assert "resume" not in summary.column_names  # not a swept key
    assert diff_main([str(fresh), str(resumed), "--out", str(tmp_path / "d")]) == 0
