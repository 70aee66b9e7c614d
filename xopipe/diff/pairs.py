"""Which runs are compared with which, and the comparison of each pair, grid by grid.

Three ways to pair runs, one engine:
- a sweep's own report: complete jobs whose overrides are equal once the
  backend keys (backend, backend.*) are left out form a group; every two
  members of a group are a pair (loop/numpy, loop/torch, numpy/torch);
- `xopipe-diff RUN RUN`: the two runs;
- `xopipe-diff SWEEP SWEEP`: jobs matched by their overrides.
Grids are read one (stage, channel) at a time for all members of a group
(xopipe.diff.grids), so memory is bounded by one grid per member.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from xopipe.diff.compare import GridDiff, Tolerance, beyond_tolerance, compare_grids
from xopipe.diff.grids import RunGrids
from xopipe.diff.heatmap import heatmap_png
from xopipe.diff.jobs import changes_numbers, differing_keys, is_backend_key, names_apart
from xopipe.run_folder import Job

# Heatmaps embedded in one HTML report at most; the rest of the detail is in diff.csv.
MAX_HEATMAPS = 48


@dataclass
class GridRow:
    """One stage and channel of one pair."""

    stage: str
    channel: int
    diff: GridDiff
    heatmap: bytes | None = None  # PNG of |a - b| beyond tolerance, for mismatches


@dataclass
class Pair:
    a: Job
    b: Job
    group: str  # the overrides the two runs share (or what matched them)
    tolerance: Tolerance
    rows: list[GridRow] = field(default_factory=list)
    # Set when the pair could not be compared cell by cell (a run failed).
    failure: str | None = None

    @property
    def compared(self) -> bool:
        return self.failure is None

    @property
    def ok(self) -> bool:
        if self.failure is not None:
            return self.a.error is not None and self.a.error == self.b.error
        return all(row.diff.ok for row in self.rows)

    @property
    def bad_rows(self) -> list[GridRow]:
        return [row for row in self.rows if not row.diff.ok]

    @property
    def names(self) -> tuple[str, str]:
        """a's and b's names: what sets each apart from the other (xopipe.diff.jobs)."""
        return names_apart(self.a, self.b)

    @property
    def name(self) -> str:
        """`conv.bias=0 vs conv.bias=1`, after what the two share if anything."""
        name_a, name_b = self.names
        return f"{self.group}: {name_a} vs {name_b}" if self.group else f"{name_a} vs {name_b}"

    @property
    def short_name(self) -> str:
        """For the verdict: the shared overrides alone when only folders tell the runs apart
        (two sweeps' jobs, matched by their overrides)."""
        if self.group and not differing_keys(self.a, self.b):
            return self.group
        return self.name


@dataclass
class Comparison:
    """Everything a diff report says: the pairs, and the runs that were not compared."""

    subject: str  # backends | runs | sweeps
    sources: list[str]  # the folders compared, for the report's header
    jobs: int  # runs looked at
    pairs: list[Pair] = field(default_factory=list)
    skipped: list[Job] = field(default_factory=list)  # failed jobs, left out of a sweep's groups
    unmatched: list[tuple[str, Job]] = field(default_factory=list)  # (source, job) with no partner

    @property
    def rows(self) -> list[GridRow]:
        return [row for pair in self.pairs for row in pair.rows]

    @property
    def agrees(self) -> bool:
        """Nothing differs, nothing failed, nothing is unmatched."""
        return not self.skipped and not self.unmatched and all(pair.ok for pair in self.pairs)

    def verdict(self) -> str:
        """One line: agree or differ, and how much."""
        rows = self.rows
        bad_rows = [row for row in rows if not row.diff.ok]
        bad_pairs = [pair for pair in self.pairs if not pair.ok]
        pairs = f"{len(self.pairs)} {_plural(self.pairs, 'pair')}"
        problems = []
        if bad_rows:
            stages = ", ".join(dict.fromkeys(row.stage for row in bad_rows))
            in_pairs = [pair for pair in bad_pairs if pair.compared]
            problems.append(
                f"{len(bad_rows)} of {len(rows)} grids beyond tolerance ({stages}), "
                f"in {len(in_pairs)} of {pairs}{_named(in_pairs, len(self.pairs))}"
            )
        not_compared = sum(not pair.compared for pair in bad_pairs)
        if not_compared:
            problems.append(f"{not_compared} {_plural(not_compared, 'pair')} with a failed run")
        if self.unmatched:
            problems.append(
                f"{len(self.unmatched)} {_plural(self.unmatched, 'run')} without a match"
            )
        if problems:
            head = f"{self.subject} differ: " + "; ".join(problems)
            if self.pairs and not bad_pairs:
                head += f"; the {pairs} matched agree ({len(rows)} grids)"
        elif not self.pairs:
            head = "nothing to compare: " + _NOTHING.get(self.subject, "no pairs")
        else:
            head = f"{self.subject} agree: {len(rows)} grids within tolerance in {pairs}"
            alike = sum(not pair.compared for pair in self.pairs)
            if alike:
                head += f" ({alike} of them failed alike in both)"
        if self.skipped:
            head += f"; {len(self.skipped)} of {self.jobs} jobs failed (skipped)"
        return head


_NOTHING = {
    "backends": "no two complete runs differ only in backend",
    "sweeps": "no job has the same overrides in both sweeps",
}


# Pairs the verdict names at most; the report names every one.
MAX_NAMED = 3


def _named(pairs: Sequence[Pair], among: int) -> str:
    """': conv.bias=0 vs conv.bias=1' for the one pair compared, else the differing ones."""
    names = list(dict.fromkeys(pair.short_name for pair in pairs))
    if not names:
        return ""
    if among == 1:
        return f": {names[0]}"
    more = ", ..." if len(names) > MAX_NAMED else ""
    return f" ({', '.join(names[:MAX_NAMED])}{more})"


def _plural(count: Sequence | int, word: str) -> str:
    n = count if isinstance(count, int) else len(count)
    return word if n == 1 else f"{word}s"


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
    budget = _Budget(MAX_HEATMAPS)
    for label, members in backend_groups(jobs):
        pairs = [(i, j) for i in range(len(members)) for j in range(i + 1, len(members))]
        comparison.pairs.extend(_compare_group(members, pairs, label, atol, rtol, budget))
    return comparison


def compare_runs(
    a: Job, b: Job, atol: float | None = None, rtol: float | None = None
) -> Comparison:
    comparison = Comparison("runs", [a.name, b.name], 2)
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
    readers = {i: RunGrids(members[i].parquet) for i in sorted(readable)}
    keys = dict.fromkeys(key for reader in readers.values() for key in reader.grid_keys())
    for stage, channel in keys:
        grids = {i: reader.grid(stage, channel) for i, reader in readers.items()}
        for (i, j), pair in zip(index_pairs, pairs, strict=True):
            if not pair.compared:
                continue
            a, b = grids[i], grids[j]
            diff = compare_grids(a, b, pair.tolerance)
            row = GridRow(stage, channel, diff)
            if a is not None and b is not None and diff.mismatched_cells and budget.take():
                row.heatmap = heatmap_png(beyond_tolerance(a, b, pair.tolerance))
            pair.rows.append(row)
    return pairs


def _tolerance(a: Job, b: Job, atol: float | None, rtol: float | None) -> Tolerance:
    return Tolerance.for_dtypes((a.dtype, b.dtype), atol, rtol)
