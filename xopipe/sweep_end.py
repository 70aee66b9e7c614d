"""The end of a sweep: summary.parquet, diff.csv and the diff reports in the sweep folder.

Above both multirun/ (the summary) and diff/ (the comparison), which it puts together.
"""

from __future__ import annotations

from pathlib import Path

from xopipe.diff.comparison import Comparison
from xopipe.diff.pairs import compare_backends
from xopipe.diff.report import write_reports
from xopipe.multirun.summary import write_summary
from xopipe.multirun.training_summary import is_training_sweep, write_training_summary
from xopipe.run_folder import SUMMARY, find_jobs


def finish_sweep(
    sweep_dir: Path, atol: float | None = None, rtol: float | None = None
) -> Comparison:
    """Summarize every job under `sweep_dir` and compare the runs that differ only in backend.

    Reads only what the jobs left in the folder, so it works for any launcher
    (and again later, on a finished sweep). A training sweep (xopipe-train -m)
    summarizes the jobs' final weights and scores, and compares their weights
    and histories.
    """
    jobs = find_jobs(sweep_dir)
    if is_training_sweep(jobs):
        write_training_summary(sweep_dir / SUMMARY, jobs)
        detail = f"Every job's final weights and scores: {SUMMARY}."
    else:
        write_summary(sweep_dir / SUMMARY, jobs)
        detail = f"Every cell of every job: {SUMMARY}."
    comparison = compare_backends(jobs, str(sweep_dir), atol, rtol)
    write_reports(sweep_dir, comparison, detail=detail)
    return comparison
