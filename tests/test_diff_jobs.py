"""xopipe.diff.jobs: finished runs read from disk, with status and overrides."""

from __future__ import annotations

from tests.finished_runs import make_run, random_arrays
from xopipe.run_folder import find_jobs, load_job


def test_find_jobs_orders_by_job_number_and_reads_status(tmp_path):
    for num in (10, 2, 0):
        make_run(tmp_path / str(num), random_arrays(num), [f"input.seed={num}"])
    make_run(tmp_path / "3", None, ["input.seed=-1"], error="UserError: seed")
    (tmp_path / "4" / ".hydra").mkdir(parents=True)  # started, never finished
    (tmp_path / "4" / ".hydra" / "overrides.yaml").write_text("- input.seed=4\n")
    (tmp_path / ".submitit").mkdir()
    jobs = find_jobs(tmp_path)
    assert [job.num for job in jobs] == [0, 2, 3, 4, 10]
    assert [job.status for job in jobs] == ["complete", "complete", "failed", "failed", "complete"]
    assert jobs[2].error == "UserError: seed"
    assert "did not finish" in (jobs[3].error or "")
    assert jobs[3].label() == "input.seed=4"


def test_load_job_reads_overrides_from_the_manifest_without_hydra_folder(tmp_path):
    run = make_run(tmp_path / "r", random_arrays(), ["input=o"])
    (run / ".hydra" / "overrides.yaml").unlink()
    assert load_job(run, "r").label() == "input=o"
