"""Which runs are compared with which, and the comparison of each pair, grid by grid.

Three ways to pair runs, one engine:
- a sweep's own report: complete jobs whose overrides are equal once the
  backend keys (backend, backend.*) are left out form a group; every two
  members of a group are a pair (loop/numpy, loop/torch, numpy/torch);
- `xopipe-diff RUN RUN`: the two runs;
- `xopipe-diff SWEEP SWEEP`: jobs matched by their overrides.
Every table the runs hold is compared, the same way: matrices, and with a
loss gradients and weight_gradients; a training run's weights and history
(a table one run lacks is missing grids).
Grids are read one (stage, channel) at a time for all members of a group
(xopipe.diff.grids), so memory is bounded by one grid per member.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from xopipe.diff.compare import Tolerance, beyond_tolerance, compare_grids
from xopipe.diff.comparison import Comparison, GridRow, Pair
from xopipe.diff.grids import open_grids
from xopipe.diff.heatmap import heatmap_png
from xopipe.diff.jobs import changes_numbers, is_backend_key
from xopipe.diff.scores import trained_runs
from xopipe.run_folder import Job

# Heatmaps embedded in one HTML report at most; the rest of the detail is in diff.csv.
MAX_HEATMAPS = 48


def backend_groups(jobs: Sequence[Job]) -> list[tuple[str, list[Job]]]:
    """Complete jobs grouped by their overrides without the backend keys, in job order."""
    groups: dict[tuple, list[Job]] = defaultdict(list)
    labels: dict[tuple, str] = {}
    for job in jobs:
        if not job.complete:
            continue
        shared = [o for o in job.overrides if not is_backend_key(o.key)]
        key = tuple(sorted((o.key, o.value or "") for o in shared))
        groups[key].append(job)
        labels.setdefault(key, " ".join(o.text for o in shared) or "defaults")
    return [(labels[key], members) for key, members in groups.items()]


def compare_backends(
    jobs: Sequence[Job], source: str, atol: float | None = None, rtol: float | None = None
) -> Comparison:
    """A sweep's own comparison: every two runs that differ only in backend."""
    comparison = Comparison("backends", [source], len(jobs))
    comparison.skipped = [job for job in jobs if not job.complete]
    comparison.trained = trained_runs(jobs)
    budget = _Budget(MAX_HEATMAPS)
    for label, members in backend_groups(jobs):
        pairs = [(i, j) for i in range(len(members)) for j in range(i + 1, len(members))]
        comparison.pairs.extend(_compare_group(members, pairs, label, atol, rtol, budget))
    return comparison


def compare_runs(
    a: Job, b: Job, atol: float | None = None, rtol: float | None = None
) -> Comparison:
    comparison = Comparison("runs", [a.name, b.name], 2, trained=trained_runs([a, b]))
    comparison.pairs = _compare_matched([(a, b, "")], atol, rtol)
    return comparison


def compare_sweeps(
    jobs_a: Sequence[Job],
    jobs_b: Sequence[Job],
    sources: tuple[str, str],
    atol: float | None = None,
    rtol: float | None = None,
) -> Comparison:
    """Two sweeps, job by job: a job of A is matched with the job of B with the same overrides."""
    comparison = Comparison("sweeps", list(sources), len(jobs_a) + len(jobs_b))
    comparison.trained = trained_runs([*jobs_a, *jobs_b])
    waiting: dict[tuple, list[Job]] = defaultdict(list)
    for job in jobs_b:
        waiting[_overrides_key(job)].append(job)
    matched = []
    for job in jobs_a:
        partners = waiting.get(_overrides_key(job))
        if partners:
            matched.append((job, partners.pop(0), job.label()))
        else:
            comparison.unmatched.append((sources[0], job))
    left_over = {id(job) for jobs in waiting.values() for job in jobs}
    comparison.unmatched.extend((sources[1], job) for job in jobs_b if id(job) in left_over)
    comparison.pairs = _compare_matched(matched, atol, rtol)
    return comparison


def _overrides_key(job: Job) -> tuple:
    """What matches a job across sweeps: its overrides that can change a number."""
    return tuple(sorted((o.key, o.value or "") for o in job.overrides if changes_numbers(o.key)))


def _compare_matched(
    matched: Sequence[tuple[Job, Job, str]], atol: float | None, rtol: float | None
) -> list[Pair]:
    budget = _Budget(MAX_HEATMAPS)
    pairs = []
    for a, b, label in matched:
        pairs.extend(_compare_group([a, b], [(0, 1)], label, atol, rtol, budget))
    return pairs


class _Budget:
    def __init__(self, left: int) -> None:
        self.left = left

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _compare_group(
    members: Sequence[Job],
    index_pairs: Sequence[tuple[int, int]],
    label: str,
    atol: float | None,
    rtol: float | None,
    budget: _Budget,
) -> list[Pair]:
    pairs = [
        Pair(members[i], members[j], label, _tolerance(members[i], members[j], atol, rtol))
        for i, j in index_pairs
    ]
    for pair in pairs:
        failed = [job for job in (pair.a, pair.b) if not job.complete]
        if failed:
            pair.failure = "; ".join(f"{job.name} failed: {job.error}" for job in failed)
    readable: set[int] = set()
    for (i, j), pair in zip(index_pairs, pairs, strict=True):
        if pair.compared:
            readable.update((i, j))
    tables = dict.fromkeys(table for i in sorted(readable) for table in members[i].tables)
    for table in tables:  # one table at a time: its readers are dropped before the next
        readers = {
            i: open_grids(table, members[i].tables[table])
            for i in sorted(readable)
            if table in members[i].tables
        }
        keys = dict.fromkeys(key for reader in readers.values() for key in reader.grid_keys())
        for stage, channel in keys:
            grids = {i: readers[i].grid(stage, channel) if i in readers else None for i in readable}
            for (i, j), pair in zip(index_pairs, pairs, strict=True):
                if not pair.compared:
                    continue
                a, b = grids[i], grids[j]
                diff = compare_grids(a, b, pair.tolerance)
                row = GridRow(stage, channel, diff, table=table)
                if a is not None and b is not None and diff.mismatched_cells and budget.take():
                    row.heatmap = heatmap_png(beyond_tolerance(a, b, pair.tolerance))
                pair.rows.append(row)
    return pairs


def _tolerance(a: Job, b: Job, atol: float | None, rtol: float | None) -> Tolerance:
    return Tolerance.for_dtypes((a.dtype, b.dtype), atol, rtol)
