"""xopipe-diff SWEEP SWEEP: jobs are matched on the overrides that can change a number."""

from __future__ import annotations

from tests.finished_runs import make_run, random_arrays
from xopipe.diff.jobs import changes_numbers
from xopipe.diff.pairs import compare_sweeps
from xopipe.run_folder import find_jobs, load_job


def test_keys_that_change_no_number():
    for key in ("figures", "figures.cmap", "print_matrices", "tables.formats", "explain"):
        assert not changes_numbers(key), key
    for key in ("backend", "conv.stride", "input.path", "dtype", "kernels.values", "pool"):
        assert changes_numbers(key), key


def test_sweeps_that_differ_only_in_what_they_show_are_matched_job_by_job(tmp_path):
    grid = [["backend=numpy", "conv.stride=1"], ["backend=numpy", "conv.stride=2"]]
    shows = [["figures=png", "print_matrices=false"], ["tables.formats=[parquet]", "explain=null"]]
    for number, overrides in enumerate(grid):
        make_run(tmp_path / "a" / str(number), random_arrays(number), overrides)
        extra = shows[number]
        make_run(tmp_path / "b" / str(number), random_arrays(number), [*extra, *overrides])
    comparison = compare_sweeps(find_jobs(tmp_path / "a"), find_jobs(tmp_path / "b"), ("a", "b"))
    assert comparison.unmatched == []
    assert len(comparison.pairs) == 2
    assert all(pair.ok for pair in comparison.pairs)
    assert comparison.verdict().startswith("sweeps agree")


def test_a_number_changing_override_still_keeps_jobs_apart(tmp_path):
    make_run(tmp_path / "a" / "0", random_arrays(0), ["conv.stride=1"])
    make_run(tmp_path / "b" / "0", random_arrays(0), ["conv.stride=2", "figures=none"])
    comparison = compare_sweeps(find_jobs(tmp_path / "a"), find_jobs(tmp_path / "b"), ("a", "b"))
    assert [job.name for _, job in comparison.unmatched] == ["0", "0"]
    assert comparison.pairs == []


def test_a_run_without_parquet_says_why_it_cannot_be_compared(tmp_path):
    run = make_run(tmp_path / "run", random_arrays(0), ["tables.formats=[csv]"])
    (run / "matrices.parquet").unlink()
    manifest = (run / "manifest.json").read_text()
    (run / "manifest.json").write_text(
        manifest.replace('"status"', '"tables": {"formats": ["csv"], "stages": []},\n  "status"')
    )
    job = load_job(run, "run")
    assert job.problem == (
        "no matrices.parquet: the run was made with tables.formats=['csv']; comparing reads it, "
        "so keep parquet in tables.formats"
    )
