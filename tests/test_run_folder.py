"""A run's folder and a sweep's read one way everywhere: names, manifests, jobs, nested too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import xopipe
from tests.cli import run_cli
from xopipe import run_folder
from xopipe.run_folder import (
    complete_jobs,
    find_jobs,
    is_sweep,
    job_dirs,
    manifest_or_none,
    read_manifest,
)

ROOT = Path(__file__).parent.parent
QUIET = ("figures=none", "print_matrices=false", "tables.formats=[parquet]")


def _run(folder: Path, status: str = "complete") -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"status": status, "overrides": []}))
    return folder


def test_jobs_are_found_in_nested_subdirs_and_hidden_folders_skipped(tmp_path):
    a = _run(tmp_path / "numpy" / "0")
    b = _run(tmp_path / "torch" / "1", "failed")
    _run(tmp_path / ".submitit" / "7")
    assert job_dirs(tmp_path) == [a, b]
    assert complete_jobs(tmp_path) == [a]  # the guard against rerunning a sweep sees nested jobs
    assert is_sweep(tmp_path) is False and is_sweep(tmp_path / "numpy") is True
    assert [job.num for job in find_jobs(tmp_path)] == [0, 1]


def test_a_half_written_manifest_reads_as_none_only_tolerantly(tmp_path):
    (tmp_path / "manifest.json").write_text('{"status": "compl')
    assert manifest_or_none(tmp_path) is None
    try:
        read_manifest(tmp_path)
    except ValueError:
        pass
    else:
        raise AssertionError("the strict reader lets a broken manifest through")
    assert read_manifest(tmp_path / "nothing-here") is None


def test_each_file_name_of_a_run_or_sweep_is_written_once():
    """Modules use run_folder's names; a literal elsewhere would drift from it."""
    names = [
        run_folder.MANIFEST,
        run_folder.REPORT,
        run_folder.MATRICES_PARQUET,
        run_folder.GRADIENTS_PARQUET,
        run_folder.WEIGHT_GRADIENTS_PARQUET,
        run_folder.SUMMARY,
        run_folder.DIFF_CSV,
        run_folder.DIFF_REPORT_MD,
        run_folder.DIFF_REPORT_HTML,
    ]
    found = []
    for path in (ROOT / "xopipe").rglob("*.py"):
        if path.name == "run_folder.py":
            continue
        for name in names:
            if re.search(rf'"{re.escape(name)}"', path.read_text()):
                found.append((path.relative_to(ROOT).as_posix(), name))
    assert found == []


def test_a_nested_sweep_is_not_run_again_over_its_complete_jobs(tmp_path):
    """A subdir per backend, then the job: the guard counts the nested jobs."""
    sweep = tmp_path / "sweep"
    # In this process (n_jobs=1): a forked worker after torch's threads started can hang.
    grid = [
        "-m",
        "backend=loop,numpy",
        *QUIET,
        "hydra.launcher.n_jobs=1",
        f"hydra.sweep.dir={sweep}",
    ]
    nested = "hydra.sweep.subdir=${hydra.runtime.choices.backend}/${hydra.job.num}"
    assert run_cli(*grid, nested).code == 0
    assert sorted(p.relative_to(sweep).as_posix() for p in job_dirs(sweep)) == [
        "loop/0",
        "numpy/1",
    ]
    again = run_cli(*grid, nested)
    assert again.code == 2
    assert "already holds a sweep with 2 complete job(s)" in again.stderr


def test_a_jobs_tables_are_the_gradient_files_its_manifest_lists(tmp_path):
    """A run with a loss lists gradients.parquet and weight_gradients.parquet; a stale copy
    left by an earlier run in the same folder is not the job's; an unreadable one is a
    problem, as an unreadable matrices.parquet is."""
    xopipe.run("loss=sum", *QUIET, out_dir=tmp_path / "loss").close()
    xopipe.run(*QUIET, out_dir=tmp_path / "plain").close()
    job = run_folder.load_job(tmp_path / "loss", "loss")
    assert job.tables == {
        "matrices": tmp_path / "loss" / "matrices.parquet",
        "gradients": tmp_path / "loss" / "gradients.parquet",
        "weight_gradients": tmp_path / "loss" / "weight_gradients.parquet",
    }
    assert job.loss_value == 58.55555555555556 and job.complete
    (tmp_path / "loss" / "gradients.parquet").rename(tmp_path / "plain" / "gradients.parquet")
    plain = run_folder.load_job(tmp_path / "plain", "plain")
    assert plain.tables == {"matrices": tmp_path / "plain" / "matrices.parquet"}
    assert plain.loss_value is None and plain.complete
    (tmp_path / "loss" / "gradients.parquet").write_bytes(b"not parquet")
    broken = run_folder.load_job(tmp_path / "loss", "loss")
    assert broken.problem is not None and broken.problem.startswith("gradients.parquet unreadable")
