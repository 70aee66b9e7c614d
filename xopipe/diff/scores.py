"""A training comparison's own section: every training run's final loss and accuracy.

Runs that differ in their learning rate or starting kernels are not compared
cell by cell (only runs that differ in backend are), yet a training sweep is
made to see which setting learns best: the report lists each run's final
scores, from its manifest (the last epoch of its history.parquet).
"""

from __future__ import annotations

from collections.abc import Sequence

from xopipe.diff.render import Block
from xopipe.run_folder import Job

SPLITS = ("train", "test")
SCORES = ("loss", "accuracy")


def trained_runs(jobs: Sequence[Job]) -> list[Job]:
    """The complete training runs among `jobs`, in their order."""
    return [job for job in jobs if job.kind == "training" and job.complete]


def scores_blocks(trained: Sequence[Job]) -> list[Block]:
    """A heading and one row per training run: its overrides and final scores (none: no
    blocks, so a comparison of runs writes the report it always did)."""
    if not trained:
        return []
    header = ["run", "overrides", *(f"{split} {score}" for split in SPLITS for score in SCORES)]
    rows = [
        [
            job.name,
            job.label(),
            *(_score(job, split, score) for split in SPLITS for score in SCORES),
        ]
        for job in trained
    ]
    return [Block("h2", "Final scores"), Block("table", header=header, rows=rows)]


def _score(job: Job, split: str, score: str) -> str:
    value = job.scores.get(split, {}).get(score)
    return repr(float(value)) if isinstance(value, (int, float)) else ""
